/**
 * The CDC bridge's slot, publication and tables as its operator set them (CDC_SLOT,
 * CDC_PUBLICATION, CDC_TABLES). Whoever prepares capture before the seed (`strangler up`,
 * `strangler db setup`) must prepare the very slot the bridge will read; only what is set is
 * given, so that the bridge's own defaults apply to the rest.
 */
export type CaptureOptions = Readonly<{ slot?: string; publication?: string; tables?: readonly string[] }>;

export function captureOptionsOf(value: { CDC_SLOT?: string; CDC_PUBLICATION?: string; CDC_TABLES?: string }): CaptureOptions {
  const tables = value.CDC_TABLES?.split(',')
    .map((table) => table.trim())
    .filter(Boolean);
  return Object.freeze({
    ...(value.CDC_SLOT ? { slot: value.CDC_SLOT } : {}),
    ...(value.CDC_PUBLICATION ? { publication: value.CDC_PUBLICATION } : {}),
    ...(tables?.length ? { tables: Object.freeze(tables) } : {}),
  });
}
