import { StranglerError, messageOf, redactUrl } from '../../platform/errors.ts';

/**
 * The PIM service's error codes. Client mistakes in the legacy's product API stay MagentoErrors
 * (the contract is the legacy's error body); these are for operators.
 */
export const PimErrors = {
  configInvalid: (detail: string, cause?: unknown) =>
    new StranglerError('PIM_CONFIG_INVALID', `invalid PIM configuration: ${detail}`, {
      remedy: 'Fix the environment variable named above (PIM_PORT, PIM_DATABASE_URL, AMQP_URL, ELASTICSEARCH_URL) and start the PIM again.',
      cause,
    }),
  databaseUnavailable: (url: string, cause: unknown) =>
    new StranglerError('PIM_DATABASE_UNAVAILABLE', `the PIM database at ${redactUrl(url)} cannot be used: ${messageOf(cause)}`, {
      remedy: 'Start PostgreSQL and create the pim database (`npm start` does both), or correct PIM_DATABASE_URL.',
      status: 503,
      cause,
    }),
  elasticsearchRejected: (detail: string, cause?: unknown) =>
    new StranglerError('PIM_ES_REJECTED', `Elasticsearch rejected a write: ${detail}`, {
      remedy: 'Check the index mapping and the cluster health (GET _cluster/health); the change will be retried by the CDC consumer.',
      status: 502,
      cause,
    }),
  elasticsearchBackPressure: (attempts: number, cause?: unknown) =>
    new StranglerError('PIM_ES_BACK_PRESSURE', `Elasticsearch kept answering 429 (es_rejected_execution_exception) after ${attempts} attempts`, {
      remedy: 'The cluster is overloaded: add capacity or lower the write rate; the consumer retries the change later.',
      status: 503,
      cause,
    }),
  elasticsearchUnavailable: (cause: unknown) =>
    new StranglerError('PIM_ES_UNAVAILABLE', `Elasticsearch cannot be reached: ${messageOf(cause)}`, {
      remedy: 'Start Elasticsearch or correct ELASTICSEARCH_URL; unset it to use the PostgreSQL store.',
      status: 503,
      cause,
    }),
  searchInvalid: (parameter: string, detail: string) =>
    new StranglerError('PIM_SEARCH_INVALID', `search parameter ${parameter} is invalid: ${detail}`, {
      remedy: 'Correct the query string: q=<words>, category=<id>, color=<label>, size=<label>, price_from/price_to=<number>, page/page_size=<whole number>.',
      status: 400,
    }),
  rowInvalid: (table: string, detail: string, cause?: unknown) =>
    new StranglerError('PIM_ROW_INVALID', `a change of ${table} does not have the expected shape: ${detail}`, {
      remedy: 'The legacy schema changed under the PIM; update extracted/pim/sync/raw-catalog.ts and replay the dead-lettered messages.',
      cause,
    }),
};
