/**
 * The cluster sources this witnessd is built with (as Prometheus' discovery/install): the
 * document's cluster.source picks one from this table; the daemon knows nothing else about
 * it. A new source adds its folder under src/cluster/ and one line here.
 */
import type { ClusterSourceName } from '../config';
import type { ClusterSource, OpenSource, SourceContext } from '../cluster/source';
import { YamlSource } from '../cluster/yaml-source';
import { CtdbSource } from '../cluster/ctdb/source';

export const CLUSTER_SOURCES: Readonly<Record<ClusterSourceName, OpenSource>> = {
  yaml: (ctx) => YamlSource.open(ctx),
  ctdb: (ctx) => CtdbSource.open(ctx),
};

export function openClusterSource(ctx: SourceContext): Promise<ClusterSource> {
  return CLUSTER_SOURCES[ctx.config.cluster.source](ctx);
}
