/** Model names of CTDB nodes: `pnn0`, `pnn1`, ... (witnessctl and the admin API use them). */
export const ctdbNodeName = (pnn: number): string => `pnn${pnn}`;
export const pnnOfNodeName = (name: string): number | undefined => {
  const m = /^pnn(\d+)$/.exec(name);
  return m ? Number(m[1]) : undefined;
};
