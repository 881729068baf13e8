/** See compare.cjs. */
export function compareToPeer(c: { measure: string; unit: string; better: 'more' | 'less'; bridge: number; peer: number; peerName: string; digits?: number; wording?: 'speed' | 'amount' }): string;
/** See compare.cjs. */
export function ratioToBaseline(c: { measure: string; better: 'more' | 'less'; value: number; baseline: number; baselineName: string }): string;
