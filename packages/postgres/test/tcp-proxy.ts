import net from "node:net";

/** A TCP proxy in front of PostgreSQL whose connections a test can cut and whose door it can shut. */
export interface TcpProxy {
  /** A connection string through the proxy (same credentials and database as `target`). */
  readonly url: string;
  /** Destroys every open connection and refuses new ones until {@link TcpProxy.resume}. */
  cut(): void;
  /** Accepts connections again. */
  resume(): void;
  close(): Promise<void>;
}

/** Starts a proxy on an ephemeral port forwarding to the host and port of `target` (a postgres URL). */
export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let open = true;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (!open) {
      client.destroy();
      return;
    }
    const server = net.connect(Number(upstream.port || 5432), upstream.hostname);
    track(server);
    client.pipe(server).pipe(client);
    client.on("close", () => server.destroy());
    server.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(target);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return {
    url: url.toString(),
    cut() {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    resume() {
      open = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
