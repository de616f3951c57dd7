import { LatchkeyError } from '@latchkey/errors';
import type { Logger } from '@latchkey/logger';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { invalidRequest, type RequestRefusal } from '../../domain/resolution-errors.js';

/**
 * One NATS request/reply endpoint of the resolver (plan requests, runtime
 * reads), served by one replica of the queue group per request. A body that is
 * not a JSON object is refused before `answer` sees it; an error thrown by
 * `answer` is logged by its code and answered without its message (which
 * could name what the caller may not learn).
 */
export function startRequestResponder<Req extends object, Reply>(opts: {
  nc: NatsConnection;
  subjects: string;
  queue: string;
  /** What a request is, for the log (e.g. `plan request`). */
  what: string;
  /** The answer's message when `answer` throws, e.g. `the read could not be done`. */
  failure: string;
  answer: (req: Req) => Promise<Reply | RequestRefusal>;
  logger: Logger;
}): Subscription {
  const respond = async (msg: Msg): Promise<Reply | RequestRefusal> => {
    let req: unknown;
    try {
      req = JSON.parse(new TextDecoder().decode(msg.data));
    } catch {
      return invalidRequest('the request is not JSON');
    }
    if (typeof req !== 'object' || req === null) return invalidRequest('the request is not a JSON object');
    try {
      return await opts.answer(req as Req);
    } catch (err) {
      const code = err instanceof LatchkeyError ? err.code : 'resolver.error';
      opts.logger.warn(`a ${opts.what} failed`, { code, subject: msg.subject });
      return { ok: false, code, message: `${opts.failure} (see the resolver log)` };
    }
  };
  return opts.nc.subscribe(opts.subjects, {
    queue: opts.queue,
    callback: (err, msg) => {
      if (err) return;
      void respond(msg).then((reply) => msg.respond(JSON.stringify(reply)));
    },
  });
}
