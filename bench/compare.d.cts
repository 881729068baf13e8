/** See compare.cjs. */
export function compareToPeer(c: { measure: string; unit: string; better: 'more' | 'less'; bridge: number; peer: number; peerName: string; digits?: number }): string;
