/**
 * Which log records extend a snapshot. A record carries the generation of the snapshot it was
 * appended after and its commit number; the snapshot carries its own generation and the number
 * of the last commit it holds.
 *
 * - A record of the snapshot's generation extends it.
 * - A record of the generation just before extends it too when its number is past the
 *   snapshot's: a checkpoint taken from a replica while writes went on (see `prepareCheckpoint`)
 *   holds the commits up to its number, and the records appended meanwhile stay in the log under
 *   the old generation.
 * - Any other record is stale: a checkpoint already folded it in (an interrupted one left it).
 */
export function extendsSnapshot(
  record: { readonly generation: number; readonly seq: number },
  snapshot: { readonly generation: number; readonly seq: number },
): boolean {
  if (record.generation === snapshot.generation) return true;
  return record.seq > snapshot.seq && isPreviousGeneration(record.generation, snapshot.generation);
}

/**
 * True when `older` is the generation a checkpoint replaced with `newer`. Generations count up
 * from 0 (a store never checkpointed) and wrap from 2^32 − 1 to 1.
 */
export function isPreviousGeneration(older: number, newer: number): boolean {
  if (newer === 0) return false;
  if (newer === 1) return older === 0 || older === 0xffff_ffff;
  return older === newer - 1;
}
