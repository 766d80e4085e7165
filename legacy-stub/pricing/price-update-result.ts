/**
 * Magento's answer to a bulk price write: one entry per problem, `[]` when every row was written
 * (Magento\Catalog\Api\Data\PriceUpdateResultInterface). `message` keeps its `%placeholders` and
 * `parameters` holds their values in order, as Magento's REST layer serialises them; a row with
 * any problem is skipped while the valid rows are still written.
 */
export interface PriceUpdateResult {
  message: string;
  parameters: string[];
}

export class PriceUpdateResults {
  readonly #items: PriceUpdateResult[] = [];
  readonly #failedRows = new Set<number>();

  add(row: number, message: string, parameters: Record<string, unknown>): void {
    this.#failedRows.add(row);
    this.#items.push({ message, parameters: Object.values(parameters).map((value) => (value === null || value === undefined ? '' : String(value))) });
  }

  failed(row: number): boolean {
    return this.#failedRows.has(row);
  }

  get items(): PriceUpdateResult[] {
    return [...this.#items];
  }
}
