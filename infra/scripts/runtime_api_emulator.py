#!/usr/bin/env python3
"""A minimal AWS Lambda Runtime API emulator, for measuring a function locally.

Implements the four routes a custom runtime (lambda_runtime) calls:

  GET  /2018-06-01/runtime/invocation/next             first call: the event; later: held
  POST /2018-06-01/runtime/invocation/{id}/response    the function's result
  POST /2018-06-01/runtime/invocation/{id}/error       the function's error
  POST /2018-06-01/runtime/init/error                  an error before the first /next

It serves ONE event, then holds every further /next open (as Lambda does while an
execution environment waits for work), so the process stays alive and idle.

Modes:

  serve --event FILE [--port N]
      Run the emulator alone; print one JSON line per runtime call. Point a function
      at it with AWS_LAMBDA_RUNTIME_API=127.0.0.1:N. Ctrl-C to stop.

  run --event FILE [--timeout S] -- COMMAND [ARG...]
      Start the emulator on a free port, start COMMAND with AWS_LAMBDA_RUNTIME_API
      set (the rest of the environment is inherited), and measure:
        init_ms     from just before the process is spawned to the moment its first
                    GET /runtime/invocation/next arrives (ready for its first event)
        invoke_ms   from answering that /next to receiving the response (or error)
        vmhwm_kb    VmHWM (peak resident set) from /proc/PID/status, read once the
                    process has handled the event and called /next again
        vmrss_kb    VmRSS at the same moment
      then stop the process (SIGTERM, then SIGKILL) and print one JSON object:
        {"init_ms", "invoke_ms", "vmhwm_kb", "vmrss_kb", "outcome", "result", ...}
      outcome is "response", "error" (invocation error) or "init_error"; the exit
      status is 0 if the process reached the event and answered it (response or
      error), 1 otherwise. The child's stdout/stderr go to --child-log (default: ours).
      The same measurement is `measure()` for scripts that import this module.

  tls-proxy --target HOST:PORT --cert PEM --key PEM [--port N]
      A TLS-terminating proxy in front of a plain TCP service (DynamoDB Local), so
      that a function's first call pays for TLS as it does against DynamoDB.

Standard library only.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{name}"


class State:
    def __init__(self, event_bytes, function_name, deadline_ms, on_record=None):
        self.event_bytes = event_bytes
        self.function_name = function_name
        self.deadline_ms = deadline_ms
        self.on_record = on_record
        self.lock = threading.Lock()
        self.request_id = str(uuid.uuid4())
        self.next_calls = 0
        self.first_next_ns = None
        self.second_next_ns = None
        self.event_sent_ns = None
        self.outcome = None  # "response" | "error" | "init_error"
        self.outcome_ns = None
        self.result = None
        self.done = threading.Event()  # the event was answered (or init failed)
        self.idle = threading.Event()  # the process called /next again after answering
        self.stop = threading.Event()  # releases held /next calls

    def record(self, **fields):
        if self.on_record:
            self.on_record(fields)


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "patgate-runtime-api-emulator"

        def log_message(self, fmt, *args):  # quiet: results are reported by mode
            pass

        def _send(self, status, body=b"", headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            if not any(k.lower() == "content-type" for k in (headers or {})):
                self.send_header("Content-Type", "application/json")
            self.end_headers()
            if body:
                self.wfile.write(body)

        def _body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                return self.rfile.read(length)
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while True:
                    size = int(self.rfile.readline().strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                return b"".join(chunks)
            return b""

        def do_GET(self):
            now = time.perf_counter_ns()
            if self.path != PREFIX + "/invocation/next":
                self._send(404, b'{"errorMessage":"unknown route"}')
                return
            with state.lock:
                state.next_calls += 1
                call = state.next_calls
                if call == 1:
                    state.first_next_ns = now
                elif call == 2:
                    state.second_next_ns = now
            state.record(call="next", n=call)
            if call == 1:
                deadline = int(time.time() * 1000) + state.deadline_ms
                headers = {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": state.request_id,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN.format(name=state.function_name),
                    "Lambda-Runtime-Trace-Id": "Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0",
                }
                state.event_sent_ns = time.perf_counter_ns()
                self._send(200, state.event_bytes, headers)
                return
            # Hold: no more events. Release only when the emulator stops.
            state.idle.set()
            state.stop.wait()
            try:
                self._send(410, b'{"errorMessage":"emulator stopped"}')
            except OSError:
                pass  # the process was already stopped
            self.close_connection = True

        def do_POST(self):
            now = time.perf_counter_ns()
            body = self._body()
            m = re.fullmatch(re.escape(PREFIX) + r"/invocation/([^/]+)/(response|error)", self.path)
            if m:
                if m.group(1) != state.request_id:
                    self._send(400, b'{"errorMessage":"unknown request id","errorType":"InvalidRequestID"}')
                    return
                outcome = m.group(2)
            elif self.path == PREFIX + "/init/error":
                outcome = "init_error"
            else:
                self._send(404, b'{"errorMessage":"unknown route"}')
                return
            try:
                result = json.loads(body) if body else None
            except ValueError:
                result = body.decode("utf-8", "replace")
            with state.lock:
                if state.outcome is None:
                    state.outcome = outcome
                    state.outcome_ns = now
                    state.result = result
            state.record(call=outcome, result=result)
            self._send(202, b'{"status":"OK"}')
            state.done.set()

    return Handler


def start_server(state, port):
    server = ThreadingHTTPServer(("127.0.0.1", port), make_handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def proc_status(pid):
    fields = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    fields[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return fields


def cmd_serve(args):
    event = open(args.event, "rb").read()
    state = State(event, args.function_name, args.deadline_ms,
                  on_record=lambda f: print(json.dumps(f), flush=True))
    server = start_server(state, args.port)
    print(json.dumps({"listening": f"127.0.0.1:{server.server_address[1]}"}), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        state.stop.set()
        server.shutdown()
    return 0


def measure(command, event, function_name="function", env=None, timeout=30.0,
            deadline_ms=10_000, child_log=None):
    """Runs COMMAND against a fresh emulator serving EVENT (bytes) and returns the
    report described in the module doc. `env` is the child's environment
    (AWS_LAMBDA_RUNTIME_API is added); `child_log` a binary file for its output."""
    # Threads hand over the interpreter lock at this interval: the default 5 ms would
    # let a waiting thread delay the handler that timestamps /next.
    sys.setswitchinterval(0.0002)
    state = State(event, function_name, deadline_ms)
    server = start_server(state, 0)
    env = dict(os.environ if env is None else env)
    env["AWS_LAMBDA_RUNTIME_API"] = f"127.0.0.1:{server.server_address[1]}"

    spawn_ns = time.perf_counter_ns()
    proc = subprocess.Popen(command, env=env, stdout=child_log, stderr=child_log)
    deadline = time.monotonic() + timeout
    exited = None
    # Wait for the answer to the event (or an init error), or the process dying.
    while not state.done.wait(0.002):
        exited = proc.poll()
        if exited is not None or time.monotonic() > deadline:
            break
    # Then wait until it is idle again (second /next), so VmHWM covers all the work.
    if state.done.is_set() and state.outcome != "init_error":
        while not state.idle.wait(0.002):
            exited = proc.poll()
            if exited is not None or time.monotonic() > deadline:
                break
    status = proc_status(proc.pid) if proc.poll() is None else {}
    exited = proc.poll()

    if exited is None:
        proc.terminate()
        try:
            proc.wait(2)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    state.stop.set()
    server.shutdown()
    server.server_close()

    ms = lambda a, b: round((b - a) / 1e6, 3) if a is not None and b is not None else None
    return {
        "init_ms": ms(spawn_ns, state.first_next_ns),
        "invoke_ms": ms(state.event_sent_ns, state.outcome_ns),
        "vmhwm_kb": status.get("VmHWM"),
        "vmrss_kb": status.get("VmRSS"),
        "outcome": state.outcome,
        "idle_after_event": state.idle.is_set(),
        "exit_status_before_stop": exited,
        "result": state.result,
    }


def cmd_run(args):
    if not args.command:
        print("run: missing COMMAND after --", file=sys.stderr)
        return 2
    log = open(args.child_log, "ab") if args.child_log else None
    report = measure(args.command, open(args.event, "rb").read(), args.function_name,
                     timeout=args.timeout, deadline_ms=args.deadline_ms, child_log=log)
    print(json.dumps(report), flush=True)
    ok = report["outcome"] in ("response", "error") and report["vmhwm_kb"] is not None
    return 0 if ok else 1


def tls_proxy(target_host, target_port, certfile, keyfile, port=0):
    """Starts a TLS-terminating TCP proxy on 127.0.0.1 in front of a plain TCP
    service (DynamoDB Local), in daemon threads; returns its port. Functions then
    reach DynamoDB over HTTPS as in the cloud, so their first call pays for loading
    the trust store and the TLS handshake."""
    import socket
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certfile, keyfile)
    listener = socket.create_server(("127.0.0.1", port))

    def pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def serve(client):
        try:
            tls = context.wrap_socket(client, server_side=True)
            upstream = socket.create_connection((target_host, target_port))
        except OSError:
            client.close()
            return
        threading.Thread(target=pump, args=(tls, upstream), daemon=True).start()
        pump(upstream, tls)

    def accept():
        while True:
            client, _ = listener.accept()
            threading.Thread(target=serve, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener.getsockname()[1]


def cmd_tls_proxy(args):
    host, _, port = args.target.rpartition(":")
    listen = tls_proxy(host or "127.0.0.1", int(port), args.cert, args.key, args.port)
    print(json.dumps({"listening": f"127.0.0.1:{listen}"}), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    for name in ("serve", "run"):
        p = sub.add_parser(name)
        p.add_argument("--event", required=True, help="JSON file: the one event to serve")
        p.add_argument("--function-name", default=os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function"))
        p.add_argument("--deadline-ms", type=int, default=10_000, help="invocation deadline from now")
        if name == "serve":
            p.add_argument("--port", type=int, default=9001)
        else:
            p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")
            p.add_argument("--child-log", help="append the process's stdout/stderr to this file")
            p.add_argument("command", nargs=argparse.REMAINDER)
    p = sub.add_parser("tls-proxy")
    p.add_argument("--target", required=True, help="HOST:PORT of the plain TCP service")
    p.add_argument("--cert", required=True, help="PEM certificate the proxy presents")
    p.add_argument("--key", required=True, help="PEM private key of that certificate")
    p.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "run" and args.command and args.command[0] == "--":
        args.command = args.command[1:]
    modes = {"serve": cmd_serve, "run": cmd_run, "tls-proxy": cmd_tls_proxy}
    return modes[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
