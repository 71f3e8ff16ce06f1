"""WebSocket fan-out lag: N clients on /ws; for every status push, the lag is the
client's receive time minus the document's `time_ms` (when the bridge built it).
usage: ws_fanout.py URL CLIENTS SECONDS  -> prints one JSON line of figures."""
import json
import re
import sys
import threading
import time

import websocket  # Debian python3-websocket

TIME_RE = re.compile(r'"time_ms":([0-9.]+)')


def main():
    url, clients, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    lags, counts, errors = [], [0] * clients, []
    lock = threading.Lock()
    start = threading.Event()
    stop_at = [0.0]
    start_ms = [0.0]

    def client(i):
        try:
            ws = websocket.create_connection(url, timeout=10)
            ws.send(json.dumps({"type": "subscribe", "can": False}))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(str(e))
            return
        ws.settimeout(1)
        # Receive from the start (so nothing queues up), count only pushes made
        # after every client is connected.
        while not start.is_set() or time.time() < stop_at[0]:
            try:
                msg = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            except Exception as e:  # noqa: BLE001
                errors.append(str(e))
                break
            now_ms = time.time() * 1000
            # Only the time stamp is read (no full JSON parse), so the 256
            # Python clients sharing one interpreter lock measure the
            # server more than themselves.
            m = TIME_RE.search(msg) if msg.startswith('{"type":"status"') else None
            if m is None or not start.is_set() or float(m.group(1)) < start_ms[0]:
                continue
            with lock:
                lags.append(now_ms - float(m.group(1)))
                counts[i] += 1
        ws.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(2.0)  # let every client connect
    stop_at[0] = time.time() + seconds
    start_ms[0] = time.time() * 1000
    start.set()
    for t in threads:
        t.join(seconds + 15)
    lags.sort()

    def pct(p):
        return round(lags[min(len(lags) - 1, int(p / 100 * (len(lags) - 1) + 0.5))], 1) if lags else None

    print(json.dumps({"clients": clients, "connected": clients - len(errors), "pushes": len(lags),
                      "min_per_client": min(counts), "max_per_client": max(counts),
                      "lag_p50_ms": pct(50), "lag_p99_ms": pct(99), "lag_max_ms": pct(100),
                      "errors": errors[:3]}))


if __name__ == "__main__":
    main()
