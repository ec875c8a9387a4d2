"""Schemathesis hooks for fuzzing through `cargo lambda watch`.

The local emulator turns each HTTP request into an API Gateway event made of UTF-8 strings. A request
whose text body or header value is not valid UTF-8 cannot be carried: the emulator itself answers 500
without invoking any function. Those requests are left out here; tests/tests/users.rs sends the same
bytes straight to the handlers (as API Gateway delivers them, base64 `Body::Binary`) and gets 400/401.
"""

import schemathesis


def _utf8(value) -> bool:
    if isinstance(value, (bytes, bytearray)):
        try:
            bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return False
    elif isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@schemathesis.hook
def filter_case(ctx, case):
    headers = case.headers or {}
    if any(not str(v).isascii() for v in headers.values()):
        return False
    return _utf8(case.body)
