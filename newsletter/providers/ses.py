"""Amazon SES v2 through boto3 (``pip install 'newsletter[ses]'``): one ``SendEmail`` per message.

Documented at https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html. Each
message goes as raw MIME (our List-Unsubscribe, List-Unsubscribe-Post and List-Id headers
included; at most 10 MB and 50 recipients, we send one), signed with SigV4 by botocore;
credentials and region come from the standard AWS environment variables or profile. SES has no
idempotency key: a batch is sent message by message, each reported as it is settled, so a
batch cut short leaves at most one message in doubt.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from newsletter.config import Settings
from newsletter.errors import ConfigError, ProviderError
from newsletter.providers.base import Message, Record, SendResult
from newsletter.providers.mime import one_by_one

THROTTLED = {
    "TooManyRequestsException",
    "LimitExceededException",
    "Throttling",
    "ThrottlingException",
}
PER_MESSAGE = {"MessageRejected", "BadRequestException"}
MAX_BYTES = 10 * 1024 * 1024  # SES v2: a raw message of at most 10 MB


class SesProvider:
    name = "ses"
    max_batch = 50
    default_rate = 14.0  # a common starting quota out of the sandbox; set rate_limit to yours
    idempotent = False
    key_memory: timedelta | None = None
    sequential = True

    def __init__(self, settings: Settings) -> None:
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise ConfigError(
                "[provider] name: SES needs boto3: pip install 'newsletter[ses]'"
            ) from None
        config = Config(
            retries={"max_attempts": 1},
            max_pool_connections=max(settings.provider.concurrency, 1) * 2,
        )
        # A session of our own: boto3's default session is process-global and caches credentials.
        self._client: Any = boto3.session.Session().client(
            "sesv2",
            region_name=settings.provider.region or None,
            endpoint_url=settings.provider.api_base or None,
            config=config,
        )

    def send_batch(
        self, messages: Sequence[Message], batch_key: str, record: Record | None = None
    ) -> list[SendResult]:
        return one_by_one(messages, self._send_one, record)

    def _send_one(self, m: Message, raw: bytes) -> SendResult:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            ConnectionError,
            NoCredentialsError,
        )

        if len(raw) > MAX_BYTES:
            return SendResult(
                m.delivery_id, error=f"ses: the message is {len(raw):,} bytes (10 MB at most)"
            )
        try:
            answer = self._client.send_email(
                Destination={"ToAddresses": [m.to]},
                Content={"Raw": {"Data": raw}},
                EmailTags=[{"Name": k, "Value": v} for k, v in m.metadata.items()],
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            text = exc.response.get("Error", {}).get("Message", "")
            if code in PER_MESSAGE:
                return SendResult(m.delivery_id, error=f"ses {code}: {text}", permanent=True)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            transient = code in THROTTLED or status >= 500
            raise ProviderError(f"ses {code}: {text}", permanent=not transient) from exc
        except NoCredentialsError as exc:
            raise ProviderError(
                "ses: no AWS credentials found (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or AWS_PROFILE)",
                permanent=True,
            ) from exc
        except ConnectionError as exc:  # refused or timed out while connecting: nothing sent
            raise ProviderError(
                f"ses: cannot connect ({type(exc).__name__})", permanent=False
            ) from exc
        except BotoCoreError as exc:  # a read timeout, a connection closed mid-call, …
            raise ProviderError(
                f"ses: no clear answer ({type(exc).__name__})", permanent=False, ambiguous=True
            ) from exc
        return SendResult(m.delivery_id, provider_message_id=str(answer.get("MessageId")))

    def check(self) -> str:
        """An authenticated read: the verified sending identities."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self._client.list_email_identities()
        except (ClientError, BotoCoreError) as exc:
            raise ProviderError(f"ses: {exc}", permanent=True) from exc
        names = [i.get("IdentityName") for i in answer.get("EmailIdentities", [])]
        return (
            f"credentials work; identities: {', '.join(str(n) for n in names) or 'none verified'}"
        )

    def close(self) -> None:
        self._client.close()
