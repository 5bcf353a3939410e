"""The sailor's environment (spec elasticio.md §6): the platform sets ``ELASTICIO_*`` per step.

Same names, defaults and parsing as the Node.js sailor, so a step configured for it runs here
unchanged. Secrets (API key, AMQP URI, crypto password and IV) are held as :class:`Secret`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from smsgate.core.secret import Secret
from smsgate.sailor.errors import ConfigurationError

PREFIX: Final = "ELASTICIO_"

ALWAYS_REQUIRED: Final = (
    "FLOW_ID",
    "EXEC_ID",
    "STEP_ID",
    "CONTAINER_ID",
    "WORKSPACE_ID",
    "USER_ID",
    "COMP_ID",
    "FUNCTION",
    "API_URI",
    "API_USERNAME",
    "API_KEY",
)
PROCESSING_REQUIRED: Final = (
    "AMQP_URI",
    "LISTEN_MESSAGES_ON",
    "PUBLISH_MESSAGES_TO",
    "DATA_ROUTING_KEY",
    "ERROR_ROUTING_KEY",
    "REBOUND_ROUTING_KEY",
    "SNAPSHOT_ROUTING_KEY",
    "MESSAGE_CRYPTO_IV",
    "MESSAGE_CRYPTO_PASSWORD",
)
SERVICE_REQUIRED: Final = ("POST_RESULT_URL", "CFG", "API_URI", "API_USERNAME", "API_KEY")


def require(env: Mapping[str, str], names: tuple[str, ...]) -> None:
    """Stop with one line naming every required variable that is missing or empty."""
    missing = [PREFIX + name for name in names if not env.get(PREFIX + name)]
    if missing:
        what, it = ("is", "it") if len(missing) == 1 else ("are", "them")
        raise ConfigurationError(
            f"{', '.join(missing)} {what} missing: the platform sets {it} for each step; "
            f"set {it} in the environment to run the sailor by hand"
        )


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    """An integer, or the default when absent or unparsable (as the Node.js sailor does)."""
    try:
        return int(env.get(PREFIX + name, ""))
    except ValueError:
        return default


def env_bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    """Unset: the default; empty or 'false': false; anything else: true."""
    value = env.get(PREFIX + name)
    if value is None:
        return default
    return value not in ("", "false")


def _str(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(PREFIX + name, default)


def _camel(name: str) -> str:
    head, *rest = name.lower().split("_")
    return head + "".join(part.capitalize() for part in rest)


@dataclass(frozen=True)
class StepIdentity:
    """Who this process is: copied into every outgoing message's headers."""

    flow_id: str
    exec_id: str
    step_id: str
    container_id: str
    workspace_id: str
    user_id: str
    comp_id: str
    function: str

    def headers(self) -> dict[str, str]:
        return {
            "execId": self.exec_id,
            "taskId": self.flow_id,
            "workspaceId": self.workspace_id,
            "containerId": self.container_id,
            "userId": self.user_id,
            "stepId": self.step_id,
            "compId": self.comp_id,
            "function": self.function,
        }


@dataclass(frozen=True)
class PlatformApi:
    """How to reach the platform's API (step data, results)."""

    uri: str
    username: str
    key: Secret
    retry_attempts: int = 3
    retry_delay_ms: int = 100

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PlatformApi:
        return cls(
            uri=_str(env, "API_URI").rstrip("/"),
            username=_str(env, "API_USERNAME"),
            key=Secret(_str(env, "API_KEY")),
            retry_attempts=env_int(env, "API_REQUEST_RETRY_ATTEMPTS", 3),
            retry_delay_ms=env_int(env, "API_REQUEST_RETRY_DELAY", 100),
        )


@dataclass(frozen=True)
class RateLimits:
    """At most so many emits of each kind per interval (excess emits wait)."""

    data: int = 10
    error: int = 2
    snapshot: int = 2
    interval_ms: int = 100


@dataclass(frozen=True)
class SailorSettings:
    identity: StepIdentity
    api: PlatformApi
    amqp_uri: Secret
    listen_messages_on: str
    publish_messages_to: str
    data_routing_key: str
    error_routing_key: str
    rebound_routing_key: str
    snapshot_routing_key: str
    crypto_iv: Secret
    crypto_password: Secret
    rebound_initial_expiration_ms: int = 15000
    rebound_limit: int = 20
    component_path: str = ""
    prefetch: int = 1
    startup_required: bool = False
    hook_shutdown: bool = False
    rates: RateLimits = field(default_factory=RateLimits)
    persistent_messages: bool = False
    publish_retry_delay_ms: int = 100
    publish_retry_attempts: int = 2**31
    publish_max_retry_delay_ms: int = 300000
    amqp_reconnect_attempts: int = 3
    amqp_reconnect_timeout_ms: int = 100
    outgoing_message_size_limit: int = 10485760
    no_self_passthrough: bool = False
    protocol_version: int = 1
    no_error_replies: bool = False
    input_format: str = "default"
    additional_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SailorSettings:
        """Raises ConfigurationError naming every missing required variable."""
        hook_shutdown = env_bool(env, "HOOK_SHUTDOWN", False)
        require(env, ALWAYS_REQUIRED + (() if hook_shutdown else PROCESSING_REQUIRED))
        extra = [name.strip() for name in _str(env, "ADDITIONAL_VARS_FOR_HEADERS").split(",")]
        return cls(
            identity=StepIdentity(
                flow_id=_str(env, "FLOW_ID"),
                exec_id=_str(env, "EXEC_ID"),
                step_id=_str(env, "STEP_ID"),
                container_id=_str(env, "CONTAINER_ID"),
                workspace_id=_str(env, "WORKSPACE_ID"),
                user_id=_str(env, "USER_ID"),
                comp_id=_str(env, "COMP_ID"),
                function=_str(env, "FUNCTION"),
            ),
            api=PlatformApi.from_env(env),
            amqp_uri=Secret(_str(env, "AMQP_URI")),
            listen_messages_on=_str(env, "LISTEN_MESSAGES_ON"),
            publish_messages_to=_str(env, "PUBLISH_MESSAGES_TO"),
            data_routing_key=_str(env, "DATA_ROUTING_KEY"),
            error_routing_key=_str(env, "ERROR_ROUTING_KEY"),
            rebound_routing_key=_str(env, "REBOUND_ROUTING_KEY"),
            snapshot_routing_key=_str(env, "SNAPSHOT_ROUTING_KEY"),
            crypto_iv=Secret(_str(env, "MESSAGE_CRYPTO_IV")),
            crypto_password=Secret(_str(env, "MESSAGE_CRYPTO_PASSWORD")),
            rebound_initial_expiration_ms=env_int(env, "REBOUND_INITIAL_EXPIRATION", 15000),
            rebound_limit=env_int(env, "REBOUND_LIMIT", 20),
            component_path=_str(env, "COMPONENT_PATH"),
            prefetch=env_int(env, "RABBITMQ_PREFETCH_SAILOR", 1),
            startup_required=env_bool(env, "STARTUP_REQUIRED", False),
            hook_shutdown=hook_shutdown,
            rates=RateLimits(
                data=env_int(env, "DATA_RATE_LIMIT", 10),
                error=env_int(env, "ERROR_RATE_LIMIT", 2),
                snapshot=env_int(env, "SNAPSHOT_RATE_LIMIT", 2),
                interval_ms=env_int(env, "RATE_INTERVAL", 100),
            ),
            persistent_messages=env_bool(env, "AMQP_PERSISTENT_MESSAGES", False),
            publish_retry_delay_ms=env_int(env, "AMQP_PUBLISH_RETRY_DELAY", 100),
            publish_retry_attempts=env_int(env, "AMQP_PUBLISH_RETRY_ATTEMPTS", 2**31),
            publish_max_retry_delay_ms=env_int(env, "AMQP_PUBLISH_MAX_RETRY_DELAY", 300000),
            amqp_reconnect_attempts=env_int(env, "AMQP_RECONNECT_ATTEMPTS", 3),
            amqp_reconnect_timeout_ms=env_int(env, "AMQP_RECONNECT_TIMEOUT", 100),
            outgoing_message_size_limit=env_int(env, "OUTGOING_MESSAGE_SIZE_LIMIT", 10485760),
            no_self_passthrough=env_bool(env, "NO_SELF_PASSTRHOUGH", False),
            protocol_version=env_int(env, "PROTOCOL_VERSION", 1),
            no_error_replies=env_bool(env, "NO_ERROR_REPLIES", False),
            input_format=_str(env, "INPUT_FORMAT", "default"),
            additional_headers={
                _camel(name.removeprefix(PREFIX)): env.get(name, "") for name in extra if name
            },
        )
