"""One bench run of a Python peer SDK against the emulator, started by the `compare` binary.

Usage: peer.py <peer> <read|write> <webhook_url> <n>
  peer: fast_bitrix24 | b24pysdk-keyset | b24pysdk-offset

Prints one JSON line: items, wall_s and cpu_s (user+sys) of the operation alone (imports and
interpreter start-up are not counted), maxrss_kib of the process, and error (null, or what the
SDK raised, with the items it had written when it raised).
"""

import json
import resource
import sys
import time
from urllib.parse import urlparse


def run_fast_bitrix24(mode, webhook, n):
    from fast_bitrix24 import Bitrix

    b = Bitrix(webhook, verbose=False)
    if mode == "read":
        return len(b.get_all("crm.deal.list", params={"select": ["ID", "TITLE"]}))
    items = [{"fields": {"TITLE": f"bench {i}"}} for i in range(n)]
    return len(b.call("crm.deal.add", items))


def b24pysdk_token(webhook):
    """A webhook token; b24pysdk always builds https:// URLs, so they are sent to the
    emulator's plain-http loopback address instead (in this process only)."""
    import importlib

    from b24pysdk import BitrixWebhook

    call_method = importlib.import_module("b24pysdk.api.callers.call_method")

    url = urlparse(webhook)
    call_method._MethodCaller._base_url = property(lambda self: f"http://{self._domain}/rest")
    user, code = url.path.strip("/").split("/")[1:3]
    return BitrixWebhook(domain=url.netloc, webhook_token=f"{user}/{code}")


def run_b24pysdk(mode, webhook, n, fast):
    token = b24pysdk_token(webhook)
    params = {"select": ["ID", "TITLE"]}
    if mode == "read":
        if fast:
            # A generator of rows, fetched as it is consumed.
            return sum(1 for _ in token.call_list_fast("crm.deal.list", params)["result"])
        return len(token.call_list("crm.deal.list", params)["result"])
    methods = [("crm.deal.add", {"fields": {"TITLE": f"bench {i}"}}) for i in range(n)]
    result = token.call_batches(methods)["result"]
    return len(result["result"])


def main():
    peer, mode, webhook, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    runs = {
        "fast_bitrix24": lambda: run_fast_bitrix24(mode, webhook, n),
        "b24pysdk-keyset": lambda: run_b24pysdk(mode, webhook, n, True),
        "b24pysdk-offset": lambda: run_b24pysdk(mode, webhook, n, False),
    }
    # Imports first, so that only the operation is timed.
    if peer.startswith("b24pysdk"):
        import b24pysdk  # noqa: F401
    else:
        import fast_bitrix24  # noqa: F401
    started, cpu = time.perf_counter(), time.process_time()
    items, error = 0, None
    try:
        items = runs[peer]()
    except Exception as e:  # a failed peer is reported, not dropped
        error = f"{type(e).__name__}: {e}"[:300]
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({
        "items": items,
        "wall_s": time.perf_counter() - started,
        "cpu_s": time.process_time() - cpu,
        "maxrss_kib": usage.ru_maxrss,
        "error": error,
    }))


if __name__ == "__main__":
    main()
