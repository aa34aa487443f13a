export { createClusapiService } from './service';
export type { ClusapiService, ClusapiServiceDeps } from './service';
export { ClusterResources, ClusterResourceState, ERROR as CLUSAPI_ERROR } from './resources';
export type { ClusapiOptions, ClusterControlModel, LifControl } from './resources';
