import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../../../platform/logger.ts';

/**
 * Magento 2's REST error body, `{ message, parameters }` with `%name` placeholders — the legacy's
 * contract (legacy-stub/api/magento-error.ts), written out here so the service owns its API.
 */
export class MagentoError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly parameters: string[] | Record<string, string> = [],
  ) {
    super(message);
  }
}

export const MagentoErrors = {
  productNotFound: () => new MagentoError(404, "The product that was requested doesn't exist. Verify the product and try again."),
  invalidField: (field: string) => new MagentoError(400, '"%fieldName" is invalid.', { fieldName: field }),
  requiredField: (field: string) => new MagentoError(400, '"%fieldName" is required. Enter and try again.', { fieldName: field }),
  invalidValue: (value: string, field: string) =>
    new MagentoError(400, 'Invalid value of "%value" provided for the %fieldName field.', { value, fieldName: field }),
  undecodableBody: () => new MagentoError(400, 'Decoding error: %1', ['the request body is not valid JSON']),
};

/** Known errors in Magento's shape; anything else a 500 with Magento's report line and no stack trace. */
export function magentoErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    let known: MagentoError | undefined;
    if (error instanceof MagentoError) known = error;
    // express.json() marks an unparsable body with type 'entity.parse.failed'.
    else if (error && typeof error === 'object' && 'type' in error && error.type === 'entity.parse.failed') known = MagentoErrors.undecodableBody();
    if (known) {
      res.status(known.status).json({ message: known.message, parameters: known.parameters });
      return;
    }
    logger.error({ err: error, url: req.originalUrl }, 'unhandled error in the pricing API');
    res.status(500).json({ message: 'Internal Error. Details are available in Magento log file. Report ID: %1', parameters: [String(Date.now())] });
  };
}
