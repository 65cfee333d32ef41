"""Multi-process runs on JAX's own runtime (jax.distributed), on CPU hosts too.

Every process builds the same plan; `sharding.mesh()` spans the devices of all processes,
so the dense-run axis of each chunk is split over all of them, and `sharding.to_host`
gathers every process's shards back onto every process. Process 0 alone takes the run
directory's lock, decides which chunks are done, writes files and prints; the others
compute their share and learn process 0's decisions through `share`.

Setup comes from explicit flags (coordinator "host:port", process count, process id) or,
when they are absent, from the cluster (SLURM, Open MPI, TPU; `jax.distributed`'s own
detection). CPU collectives use gloo.

jax.distributed aborts the process (a C++ fatal error, many lines) when the coordinator
cannot be reached in time; so, with explicit flags, `rendezvous` first meets every process
at the coordinator's address over a plain TCP socket, with a deadline, and turns every
setup error (unreachable coordinator, a process missing, a repeated or out-of-range id, a
different process count) into one DistributedError line on every process that is running.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import sys
import threading
import time

import jax
import numpy as np

from toyticket.core.errors import DistributedError  # noqa: F401  (raised here; one line)

HELLO = "toyticket-rendezvous"
MESSAGE_BYTES = 1024


@dataclasses.dataclass(frozen=True)
class Setup:
  """Explicit multi-process setup. coordinator: "host:port" where process 0 listens and
  the others connect; timeout_s: how long any process waits for the others."""
  coordinator: str
  num_processes: int
  process_id: int
  timeout_s: float = 60.0

  def address(self) -> tuple[str, int]:
    host, _, port = self.coordinator.rpartition(":")
    return host.strip("[]"), int(port)


def check(coordinator: str, num_processes: int, process_id: int, timeout_s: float) -> None:
  """Raises DistributedError naming the flag and its allowed values if the explicit setup
  is malformed (all three of coordinator, num_processes, process_id are needed)."""
  host, _, port = coordinator.rpartition(":")
  if not host or not port.isdigit() or not 0 < int(port) < 65536:
    raise DistributedError(f"--coordinator={coordinator!r}: allowed values are host:port "
                           "with a port in 1..65535 (e.g. 127.0.0.1:12355)")
  if num_processes < 1:
    raise DistributedError(f"--num_processes={num_processes}: allowed values are "
                           "integers >= 1")
  if not 0 <= process_id < num_processes:
    raise DistributedError(f"--process_id={process_id}: allowed values are 0.."
                           f"{num_processes - 1} (--num_processes={num_processes})")
  if not timeout_s > 0 or timeout_s == float("inf"):   # NaN fails the first test
    raise DistributedError(f"--distributed_timeout={timeout_s}: allowed values are "
                           "finite seconds > 0")


def _send(sock: socket.socket, text: str) -> None:
  sock.sendall((text + "\n").encode())


def _recv_line(sock: socket.socket, deadline: float) -> str:
  buf = b""
  while not buf.endswith(b"\n") and len(buf) < MESSAGE_BYTES:
    sock.settimeout(max(deadline - time.monotonic(), 0.01))
    part = sock.recv(MESSAGE_BYTES)
    if not part:
      break
    buf += part
  return buf.decode(errors="replace").strip()


def rendezvous(setup: Setup) -> None:
  """Meets all processes at the coordinator's address before jax.distributed starts.

  Process 0 listens and waits (until timeout_s) for one hello ("<HELLO> <id> <count>") from
  each other process; then it answers every one with "ok" or the error, and closes the
  socket for jax.distributed's own server. Others retry connecting until the deadline.
  Raises DistributedError (one line) on every process that takes part if anything is
  wrong."""
  host, port = setup.address()
  deadline = time.monotonic() + setup.timeout_s
  n, pid = setup.num_processes, setup.process_id
  if n == 1:
    return
  if pid == 0:
    _coordinate(host, port, n, deadline, setup.timeout_s)
    return
  sock = None
  while sock is None:
    try:
      sock = socket.create_connection((host, port), timeout=1.0)
    except OSError:
      if time.monotonic() > deadline:
        raise DistributedError(
            f"distributed: coordinator {setup.coordinator} not reachable within "
            f"{setup.timeout_s:g} s (is process 0 running, with the same --coordinator?)"
        ) from None
      time.sleep(0.2)
  with sock:
    try:
      _send(sock, f"{HELLO} {pid} {n}")
      reply = _recv_line(sock, deadline + 5.0)
    except OSError:
      reply = ""
  word, _, watch_port = reply.partition(" ")
  if word != "ok":
    raise DistributedError(reply or f"distributed: no answer from coordinator "
                           f"{setup.coordinator} within {setup.timeout_s:g} s")
  try:
    sock = socket.create_connection((host, int(watch_port)), timeout=setup.timeout_s)
    _send(sock, str(pid))
    _watch([sock], ["0"])
  except (OSError, ValueError):
    raise DistributedError(f"distributed: cannot reach process 0's watch port "
                           f"{host}:{watch_port}") from None


def _coordinate(host: str, port: int, n: int, deadline: float, timeout_s: float) -> None:
  """Process 0's side of `rendezvous`."""
  try:
    server = socket.create_server((host, port), reuse_port=hasattr(socket, "SO_REUSEPORT"))
  except OSError as e:
    raise DistributedError(f"distributed: process 0 cannot listen on {host}:{port} "
                           f"({e.strerror or e})") from None
  conns, ids, error = [], set(), ""
  watch = socket.create_server((host, 0))       # the peer watch (`_watch`), any free port
  watch.settimeout(max(deadline - time.monotonic(), 1.0))
  with server:
    while len(ids) < n - 1 and not error:
      server.settimeout(max(deadline - time.monotonic(), 0.01))
      try:
        conn, _ = server.accept()
      except (socket.timeout, TimeoutError):
        missing = sorted(set(range(1, n)) - ids)
        error = (f"distributed: process(es) {', '.join(map(str, missing))} of {n} did not "
                 f"reach the coordinator within {timeout_s:g} s")
        break
      try:
        word, pid, count = (_recv_line(conn, deadline).split() + ["", "", ""])[:3]
      except OSError:
        word = pid = count = ""
      if word != HELLO:                  # a stray connection: not one of ours
        conn.close()
        continue
      conns.append(conn)                 # answered below, even if invalid
      if count != str(n):
        error = (f"distributed: process {pid} was started with --num_processes={count}, "
                 f"process 0 with {n}; allowed: the same count everywhere")
      elif not pid.isdigit() or not 1 <= int(pid) < n or int(pid) in ids:
        error = (f"distributed: --process_id={pid} is repeated or out of range; allowed: "
                 f"each of 0..{n - 1} exactly once")
      else:
        ids.add(int(pid))
    for conn in conns:
      try:
        _send(conn, error or f"ok {watch.getsockname()[1]}")
        if not error:
          _recv_line(conn, time.monotonic() + 5.0)    # peer closes first
      except OSError:
        pass
      conn.close()
  peers, names = [], []
  with watch:
    try:
      while not error and len(peers) < n - 1:
        peers.append(watch.accept()[0])
        names.append(_recv_line(peers[-1], time.monotonic() + timeout_s))
    except OSError:
      error = "distributed: a process did not connect to process 0's watch port"
  if error:
    for peer in peers:
      peer.close()
    raise DistributedError(error)
  _watch(peers, names)


# The peer watch: each other process holds one plain TCP connection to process 0 for the
# whole run. A process that ends without `finish` (killed, crashed, stopped by its own
# error) closes it, so the others learn within a moment, print ONE line and exit 2 —
# instead of waiting in a collective until jax.distributed's heartbeat times out and
# aborts with a C++ stack.
_WATCHED: list = []
_FINISHED = threading.Event()
GRACE_S = 2.0      # a peer that stops: wait this long, in case this process stops too
BYE = b"bye\n"


def _watch(socks: list, names: list) -> None:
  """One daemon thread per socket: on EOF or error without a "bye" first, one line on
  stderr and os._exit(2) after GRACE_S (unless this process is finishing)."""
  for sock, name in zip(socks, names):
    sock.settimeout(None)
    _WATCHED.append(sock)
    threading.Thread(target=_wait_for_bye, args=(sock, name), daemon=True).start()


def _wait_for_bye(sock: socket.socket, name: str) -> None:
  try:
    got = sock.recv(len(BYE))
  except OSError:
    got = b""
  if got == BYE or _FINISHED.wait(GRACE_S):
    return
  sys.stderr.write(f"distributed: process {name} stopped before the run finished (killed "
                   "or failed; see its own output); stopping this process too\n")
  sys.stderr.flush()
  os._exit(2)


def finish() -> None:
  """Tells every watched peer that this process ends normally (call once its work is
  done): they stop watching it instead of stopping themselves."""
  _FINISHED.set()
  for sock in _WATCHED:
    with contextlib.suppress(OSError):
      sock.sendall(BYE)


def initialize(setup: Setup | None) -> None:
  """jax.distributed with gloo CPU collectives: explicit `setup` (after `rendezvous`) or,
  if None, the cluster's own auto-detection. Call before JAX creates its backends."""
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  if setup is None:
    try:
      jax.distributed.initialize()
    except (ValueError, RuntimeError) as e:
      raise DistributedError(
          "distributed: no cluster detected (SLURM, Open MPI, TPU); outside one, give "
          f"--coordinator, --num_processes and --process_id ({str(e).splitlines()[0][:80]})"
      ) from None
    return
  rendezvous(setup)
  jax.distributed.initialize(setup.coordinator, setup.num_processes, setup.process_id,
                             initialization_timeout=int(max(setup.timeout_s, 1)))


def is_main() -> bool:
  """True on the process that writes files and prints (process 0)."""
  return jax.process_index() == 0


def share(value: str) -> str:
  """Process 0's `value` (a str of at most MESSAGE_BYTES bytes), on every process; the
  value itself with one process. A collective: every process must call it in turn."""
  if jax.process_count() == 1:
    return value
  from jax.experimental import multihost_utils
  buf = np.zeros(MESSAGE_BYTES, np.uint8)
  data = value.encode()[:MESSAGE_BYTES]
  buf[:len(data)] = np.frombuffer(data, np.uint8)
  out = np.asarray(multihost_utils.broadcast_one_to_all(buf))
  return bytes(out[out > 0]).decode(errors="replace")


def agree(fingerprint: str) -> None:
  """Every process proves it holds the same resolved config and code version
  (`identity.fingerprint`): the fingerprints are all-gathered, and if any differs from
  process 0's, every process raises the same DistributedError (one line) before anything
  is written. A collective; a no-op with one process."""
  if jax.process_count() == 1:
    return
  from jax.experimental import multihost_utils
  buf = np.frombuffer(fingerprint.encode()[:64].ljust(64, b"\0"), np.uint8)
  rows = np.asarray(multihost_utils.process_allgather(buf)).reshape(jax.process_count(), -1)
  prints = [bytes(r).rstrip(b"\0").decode(errors="replace") for r in rows]
  bad = [i for i, f in enumerate(prints) if f != prints[0]]
  if bad:
    raise DistributedError(
        f"distributed: process(es) {', '.join(map(str, bad))} hold a different resolved "
        f"config or code version than process 0 (fingerprint {prints[bad[0]]} vs "
        f"{prints[0]}); allowed: the same command and toyticket source on every process")
