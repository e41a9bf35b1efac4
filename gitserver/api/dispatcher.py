"""`POST /` with `X-Amz-Target: CodeCommit_20150413.<Operation>`: the CodeCommit JSON API,
and on the same route the other AWS JSON APIs this server answers (`Front`): CodePipeline's
`CodePipeline_20150709.<Operation>`, signed for service `codepipeline`.

A request must be signed for the service its target belongs to: a signature scoped to
`codecommit` is refused for a CodePipeline target and the reverse, as AWS refuses it
(`InvalidSignatureException`, "Credential should be scoped to correct service").

Order of work for every request: target, SigV4 (AWS's error codes), input checked
against botocore's model, authorization of the operation on each of its targets (before
any lookup, so unknown and forbidden repositories look alike to the unauthorized), the
handler, and the output shaped by the model. Every response carries `x-amzn-RequestId`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from auth.authenticate import Authenticator, KeyRecord
from auth.errors import AuthenticationFailed
from auth.principal import Principal
from auth.sigv4 import (
    SERVICE,
    SignatureError,
    SignedRequest,
    canonical_request,
    check_freshness,
    parse_authorization,
    request_signature,
    signature_matches,
)
from gitserver.access import Access, RequestInfo, repository_names, request_info
from gitserver.api import model
from gitserver.api.errors import ApiError, to_api_error
from gitserver.api.registry import ApiServices, Call, Operation, Params
from gitserver.audit import FailedLogin
from gitserver.clientip import Network
from gitserver.db import Repository
from gitserver.errors import UNAVAILABLE_MESSAGE, unavailable

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
# AWS answers these with 403; every other error of the API is a 400.
_FORBIDDEN = {"MissingAuthenticationToken", "InvalidClientTokenId"}


@dataclass(frozen=True, slots=True)
class Front:
    """One AWS JSON API on the route: its `X-Amz-Target` prefix, the SigV4 service its
    requests must be signed for, botocore's model of it, and its operations."""

    target_prefix: str
    signing_name: str
    model_name: str
    operations: Mapping[str, Operation]


class CodeCommitApi:
    """The dispatcher: one route, every operation of `operations` (CodeCommit's) and of
    each of `fronts` (the other services, by target prefix)."""

    def __init__(
        self,
        services: ApiServices,
        operations: Mapping[str, Operation],
        authenticator: Authenticator,
        access: Access,
        *,
        prefix: str = "",
        regions: Sequence[str] = (),
        max_request: int = 16 * 1024 * 1024,
        body_idle_timeout: float = 60.0,
        trusted_proxies: tuple[Network, ...] = (),
        on_failed_login: Callable[[FailedLogin], None] | None = None,
        fronts: Sequence[Front] = (),
    ) -> None:
        self.services = services
        self.operations = operations
        self.fronts = {
            model.TARGET_PREFIX: Front(model.TARGET_PREFIX, SERVICE, "codecommit", operations),
            **{front.target_prefix: front for front in fronts},
        }
        self.authenticator = authenticator
        self.access = access
        self.prefix = prefix.rstrip("/")
        self.regions = frozenset(regions)
        self.max_request = max_request
        self.body_idle_timeout = body_idle_timeout
        self.trusted_proxies = trusted_proxies
        self.on_failed_login = on_failed_login

    def routes(self) -> list[web.RouteDef]:
        paths = {"/", self.prefix, self.prefix + "/"} - {""}
        return [web.post(path, self.handle) for path in sorted(paths)]

    async def handle(self, request: web.Request) -> web.Response:
        info = request_info(
            "api",
            request.remote or "",
            secure=request.secure,
            user_agent=request.headers.get("User-Agent", ""),
            forwarded_for=request.headers.get("X-Forwarded-For"),
            trusted_proxies=self.trusted_proxies,
        )
        try:
            body = await self._body(request)
            op = self._operation(request.headers.get("X-Amz-Target", ""))
            signed = self._signed(request, info, op.signing_name)
            info = replace(info, region=signed.region)
            principal, params, rows = await self._admit(request, body, info, signed, op)
            call = Call(principal, info, self.services, rows)
            result = await op.operation.handler(call, params)
            return _reply(info, 200, model.shape_output(op.model, result))
        except Exception as exc:
            error = to_api_error(exc)
            if error is None and unavailable(exc):
                log.warning(
                    "API operation failed: %s",
                    UNAVAILABLE_MESSAGE,
                    extra={"request_id": info.request_id},
                )
                # AWS's name for "retry later": SDKs retry a 503 by themselves.
                error = ApiError("ServiceUnavailableException", f"The {UNAVAILABLE_MESSAGE}", 503)
            if error is None:
                log.exception("API operation failed", extra={"request_id": info.request_id})
                error = ApiError("InternalFailure", "The server failed to process the request", 500)
            reply = _reply(
                info, error.status, {"__type": error.aws_type, "message": error.message}, error
            )
            if error.status in (408, 413):
                reply.force_close()  # the body was not read to its end: no keep-alive
            return reply

    async def _body(self, request: web.Request) -> bytes:
        """The whole body, refused past `max_request` (unread) or stalled past the idle
        timeout (the answer then closes the connection)."""
        if request.content_length is not None and request.content_length > self.max_request:
            raise ApiError("SerializationException", "The request body is too large", 413)
        body = bytearray()
        while True:
            try:
                async with asyncio.timeout(self.body_idle_timeout):
                    chunk = await request.content.readany()
            except TimeoutError:
                raise ApiError(
                    "RequestTimeout",
                    f"The request body stalled for {self.body_idle_timeout:g} s",
                    408,
                ) from None
            if not chunk:
                return bytes(body)
            body += chunk
            if len(body) > self.max_request:
                raise ApiError("SerializationException", "The request body is too large", 413)

    def _operation(self, target: str) -> _Resolved:
        prefix, _, name = target.partition(".")
        front = self.fronts.get(prefix)
        op_model = model.operation(name, front.model_name) if front is not None else None
        if front is None or op_model is None:
            raise ApiError("UnknownOperationException", f"Unknown operation {target!r}")
        operation = front.operations.get(name)
        if operation is None:
            raise ApiError(
                "UnsupportedOperationException", f"{name} is not supported by this server yet"
            )
        return _Resolved(operation, op_model, front.signing_name)

    async def _admit(
        self,
        request: web.Request,
        body: bytes,
        info: RequestInfo,
        signed: SignedRequest,
        op: _Resolved,
    ) -> tuple[Principal, Params, Mapping[str, Repository]]:
        """Authenticate, check the input, authorize: the caller, the input, and the rows of
        the repositories decided on.

        The key, its owner, the auth epoch and the target rows are read in one read
        transaction, as one unit (`Database.read`); so the input is parsed before, and an
        error in it is told only to a caller whose signature checks out, as before.
        """
        try:
            params = model.parse_input(op.model, _json(body))
            targets = op.operation.targets_given(self.services, params)
            invalid: Exception | None = None
        except Exception as exc:
            params, targets, invalid = {}, None, exc
        names = repository_names(targets or ())
        record, rows = await self.services.db.read(
            lambda c: (
                self.authenticator.read_access_key(c, signed.access_key_id),
                self.access.read_rows(c, names),
            )
        )
        principal = await self._authenticate(request, body, info, signed, record)
        if invalid is not None:
            raise invalid
        action = op.operation.action
        if targets is None:  # a lookup finds them (a pull request's repository)
            targets = await op.operation.targets_for(self.services, params)
            rows = await self.access.authorize(principal, action, targets, info)
        else:
            self.access.check_all(principal, action, targets, rows, info)
        return principal, params, rows

    def _signed(self, request: web.Request, info: RequestInfo, service: str) -> SignedRequest:
        """The request's SigV4 claim, checked for what needs no secret: its form, scope
        and time.

        Raises:
            ApiError: AWS's code for what is wrong.
        """
        claimed = ""
        try:
            signed = parse_authorization(request.headers.get("Authorization"))
            claimed = signed.access_key_id
            if signed.service != service:
                raise SignatureError(
                    "InvalidSignatureException",
                    f"Credential should be scoped to correct service: '{service}'.",
                )
            if self.regions and signed.region not in self.regions:
                raise SignatureError(
                    "InvalidSignatureException",
                    f"Credential should be scoped to a valid region, not '{signed.region}'.",
                )
            check_freshness(signed, request.headers.get("X-Amz-Date"), datetime.now(UTC))
        except SignatureError as exc:
            raise self._refused(exc, claimed, info) from None
        return signed

    async def _authenticate(
        self,
        request: web.Request,
        body: bytes,
        info: RequestInfo,
        signed: SignedRequest,
        record: KeyRecord | None,
    ) -> Principal:
        """The key's owner, once the signature is checked with its secret.

        Raises:
            ApiError: an unknown or inactive key, or a signature that does not match.
        """
        try:
            try:
                secret, principal = await self.authenticator.key_principal(
                    signed.access_key_id, record
                )
            except AuthenticationFailed:
                raise SignatureError(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.",
                ) from None
            _verify(request, body, signed, secret)
        except SignatureError as exc:
            raise self._refused(exc, signed.access_key_id, info) from None
        return principal

    def _refused(self, exc: SignatureError, claimed: str, info: RequestInfo) -> ApiError:
        """The client's error for a failed authentication, recorded as a failed login."""
        if exc.code != "MissingAuthenticationToken" and self.on_failed_login is not None:
            self.on_failed_login(
                FailedLogin(
                    claimed_user=claimed,
                    method="sigv4",
                    reason=str(exc),
                    error_code=exc.code,
                    source_ip=info.source_ip,
                    user_agent=info.user_agent,
                    transport=info.transport,
                    request_id=info.request_id,
                )
            )
        status = 403 if exc.code in _FORBIDDEN else 400
        return ApiError(exc.code, str(exc), status)


def _verify(request: web.Request, body: bytes, signed: SignedRequest, secret: str) -> None:
    """Recompute the signature over the request as it arrived.

    Raises:
        SignatureError: `InvalidSignatureException` when it differs.
    """
    raw_path = request.raw_path.partition("?")[0]
    payload = request.headers.get("X-Amz-Content-SHA256") or hashlib.sha256(body).hexdigest()
    canonical = canonical_request(
        request.method,
        raw_path,
        request.query.items(),
        {name: request.headers.getall(name, []) for name in signed.signed_headers},
        signed.signed_headers,
        payload,
    )
    expected = request_signature(secret, signed, request.headers.get("X-Amz-Date", ""), canonical)
    if not signature_matches(expected, signed.signature):
        raise SignatureError(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you "
            "provided. Check your AWS Secret Access Key and signing method.",
        )


class _Resolved:
    __slots__ = ("model", "operation", "signing_name")

    def __init__(self, operation: Operation, op_model: Any, signing_name: str) -> None:
        self.operation = operation
        self.model = op_model
        self.signing_name = signing_name


def _json(body: bytes) -> Any:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError("SerializationException", "The request body is not valid JSON") from None
    except RecursionError:
        # No CodeCommit or CodePipeline input is more than a few levels deep.
        raise ApiError("SerializationException", "The request body is nested too deeply") from None
    if _ESCAPES.search(body) and not _all_text(value):
        raise ApiError(
            "SerializationException",
            "The request body holds a string with NUL or an unpaired surrogate (\\u0000, "
            "\\ud800-\\udfff): not text any name, message or path can hold",
        )
    return value


# JSON escapes that decode to what no git name, SQL text column or file path can hold:
# NUL, and surrogates (a pair is fine; a lone one cannot even be written as UTF-8).
_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")


def _all_text(value: Any) -> bool:
    """Whether every string in a decoded body (keys too) is NUL-free UTF-8 text."""
    pending = [value]
    while pending:  # a loop, not recursion: json.loads took it nearly as deep as it goes
        item = pending.pop()
        if isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list):
            pending += item
        elif isinstance(item, str):
            if "\0" in item:
                return False
            try:
                item.encode()
            except UnicodeEncodeError:
                return False
    return True


def _reply(
    info: RequestInfo, status: int, payload: dict[str, Any], error: ApiError | None = None
) -> web.Response:
    headers = {"x-amzn-RequestId": info.request_id}
    if error is not None:
        headers["x-amzn-ErrorType"] = error.aws_type
    return web.Response(
        status=status,
        body=_encoded(payload),
        content_type=CONTENT_TYPE,
        headers=headers,
    )


def _encoded(payload: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(payload)
    except orjson.JSONEncodeError:
        # A path whose bytes are not UTF-8 (surrogate-escaped when read): json's escapes.
        return json.dumps(payload, separators=(",", ":")).encode()
