"""httpx's async transport over aiohttp: what the async gateway sends its requests with.

httpx's own async stack (httpcore over anyio) spends about 1.2 ms of CPU per request here,
aiohttp about 0.2 ms; at campaign scale (and in the elastic.io sailor, one request per
message) that is the difference between being CPU-bound or not. Providers stay sans-IO with
httpx requests and responses; only the bytes move through aiohttp.

Written by hand, though httpx-aiohttp exists: it maps every aiohttp connection error,
including a connection dropped after the request was written, to ``httpx.ConnectTimeout``,
which :mod:`smsgate.gateway.transport` rightly treats as "never arrived" and retries, so an
SMS could go out twice. Here only errors raised before a byte was written become connect
errors; everything else may have arrived.
"""

from __future__ import annotations

import aiohttp
import httpx


class AiohttpTransport(httpx.AsyncBaseTransport):
    def __init__(self, limits: httpx.Limits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0,
                keepalive_timeout=self._limits.keepalive_expiry or 0,
            )
            # SMS APIs authenticate every request: no cookie jar to keep.
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=False,
                trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        # ``connect`` covers waiting for a pooled connection and opening one: nothing sent yet.
        limits = aiohttp.ClientTimeout(
            total=None,
            connect=timeout.get("pool"),
            sock_connect=timeout.get("connect"),
            sock_read=timeout.get("read"),
        )
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=request.content or None,
                allow_redirects=False,
                timeout=limits,
            ) as response:
                body = await response.read()
        except aiohttp.ClientConnectorError as error:  # no connection was made
            raise httpx.ConnectError(str(error), request=request) from error
        except aiohttp.ConnectionTimeoutError as error:  # no connection within the time
            raise httpx.ConnectTimeout(str(error), request=request) from error
        except (aiohttp.SocketTimeoutError, aiohttp.ServerTimeoutError) as error:
            raise httpx.ReadTimeout(str(error), request=request) from error
        except TimeoutError as error:
            raise httpx.ReadTimeout(str(error) or "timed out", request=request) from error
        except aiohttp.ClientError as error:  # dropped, reset or garbled after sending
            raise httpx.RemoteProtocolError(str(error), request=request) from error
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            content=body,
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
