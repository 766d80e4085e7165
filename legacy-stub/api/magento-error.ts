import type { ErrorRequestHandler, Response } from 'express';
import type { Logger } from '../../platform/logger.ts';

/**
 * Magento 2's REST error body: `{ message, parameters }`, where `message` may hold `%1`-style
 * placeholders (or `%fieldName`) that `parameters` fills, exactly as Magento's clients expect.
 */
export interface MagentoErrorBody {
  message: string;
  parameters?: string[] | Record<string, string>;
}

export class MagentoError extends Error {
  readonly status: number;
  readonly parameters: string[] | Record<string, string>;
  constructor(status: number, message: string, parameters: string[] | Record<string, string> = []) {
    super(message);
    this.status = status;
    this.parameters = parameters;
  }
  toBody(): MagentoErrorBody {
    return { message: this.message, parameters: this.parameters };
  }
}

export const MagentoErrors = {
  productNotFound: () =>
    new MagentoError(404, "The product that was requested doesn't exist. Verify the product and try again."),
  invalidField: (field: string, detail = '') =>
    new MagentoError(400, `"%fieldName" is invalid.${detail ? ` ${detail}` : ''}`, { fieldName: field }),
  requiredField: (field: string) =>
    new MagentoError(400, '"%fieldName" is required. Enter and try again.', { fieldName: field }),
};

export function sendMagentoError(res: Response, error: MagentoError): void {
  res.status(error.status).json(error.toBody());
}

/** The last handler of the app: known errors in Magento's shape, anything else a 500 without a stack trace. */
export function magentoErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error);
    if (error instanceof MagentoError) return sendMagentoError(res, error);
    // express.json() rejects unparsable bodies with type 'entity.parse.failed'.
    if (error && typeof error === 'object' && 'type' in error && error.type === 'entity.parse.failed') {
      return sendMagentoError(res, new MagentoError(400, 'Decoding error: %1', ['the request body is not valid JSON']));
    }
    logger.error({ err: error, url: req.originalUrl }, 'unhandled error in the legacy app');
    res.status(500).json({ message: 'Internal Error. Details are available in Magento log file. Report ID: %1', parameters: [String(Date.now())] });
  };
}
