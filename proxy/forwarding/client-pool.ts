import { Client, type Dispatcher } from 'undici';

/**
 * One upstream's keep-alive connections: undici `Client`s (one connection each, no pipelining),
 * the most recently freed one reused first, at most `maxIdle` kept while idle (the upstream's
 * `maxFreeSockets`, as node:http's Agent did). undici's own `Pool` does the same dispatching but
 * keeps every Client it ever made, and hides them: an attempt the forwarder aborts (the shopper
 * left) must take its Client down with it, because a Client whose in-flight request was aborted
 * reconnects at once for the request it just dropped, leaving an idle connection nothing times out
 * (nodejs/undici#5845, fixed by #5846, not in 7.x).
 */
export class ClientPool {
  readonly #origin: URL;
  readonly #options: Client.Options;
  readonly #maxIdle: number;
  /** Clients free for a request, the most recently freed last. */
  readonly #idle: Client[] = [];
  readonly #all = new Set<Client>();
  #closed = false;

  constructor(origin: URL, options: Client.Options & { readonly maxIdle: number }) {
    const { maxIdle, ...clientOptions } = options;
    this.#origin = origin;
    this.#options = clientOptions;
    this.#maxIdle = maxIdle;
  }

  /** Sends a request on a free connection (or a new one); returns the Client, for `discard`. */
  dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): Client {
    const client = this.#idle.pop() ?? this.#create();
    // false: busy until 'drain' (always so without pipelining); true: free for another already.
    if (client.dispatch(options, handler)) this.#release(client);
    return client;
  }

  /** Takes a Client whose request was aborted out of the pool, closing its connection for good. */
  discard(client: Client): void {
    if (!this.#all.delete(client)) return;
    const at = this.#idle.indexOf(client);
    if (at !== -1) this.#idle.splice(at, 1);
    void client.destroy().catch(noop);
  }

  /** Lets requests in flight finish, then closes every connection (one still sent through it gets a connection closed after its answer). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((client) => client.close().catch(noop)));
    this.#all.clear();
  }

  /** Closes every connection now, failing requests in flight. */
  async destroy(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((client) => client.destroy().catch(noop)));
    this.#all.clear();
  }

  #create(): Client {
    const client = new Client(this.#origin, this.#options);
    this.#all.add(client);
    client.on('drain', () => this.#release(client));
    // Its requests get the error; the Client itself connects again for the next one.
    client.on('connectionError', noop);
    return client;
  }

  #release(client: Client): void {
    if (!this.#all.has(client) || client.destroyed || client.closed) return;
    if (this.#closed || this.#idle.length >= this.#maxIdle) {
      this.#all.delete(client);
      void client.close().catch(noop);
      return;
    }
    this.#idle.push(client);
  }
}

function noop(): void {}
