/** The admin room's public API. */
export { startAdminServer } from './server';
export type { AdminServer, AdminServerOptions, ReloadOutcome, ReloadRecord } from './server';
export { AdminClient, AdminError, DEFAULT_ADMIN_URL } from './client';
export type { AdminClientOptions } from './client';
export { Counter, Gauge, MetricsRegistry, WitnessdMetrics, countRegistrationEvents, healthMetricsSink, METRICS_CONTENT_TYPE, sameLabels } from './metrics';
export type { Labels } from './metrics';
export type { ForcedNotification, RegistrationFilter, RegistrationSummary, WitnessAdminPort, WitnessCountsView } from './port';
export { describeEvent, formatRegistrations, formatStatus } from './format';
export { StatusFeed } from './status/feed';
export type { TimelineEntry } from './status/feed';
export { ADMIN_ROUTES } from './routes';
