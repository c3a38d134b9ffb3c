"""How the bot answers interactions on the emulated Discord: callbacks and the webhook.

A mixin of `FakeDiscord`. What Discord enforces is enforced here: the first answer within 3 s
(else 404 Unknown interaction, 10062), one first answer per interaction (40060), the callback
types each kind of interaction allows, and the limits on messages, components and autocomplete
choices (400, Invalid Form Body 50035). Follow-ups, edits and deleting the original response go
through the interaction's webhook, as discord.py sends them; files on any of them are stored as
attachments (`uploads`).
"""

from __future__ import annotations

import copy
import re

from tests.fakes.discord.records import (
    RecordedAttachment,
    RecordedCallback,
    RecordedRequest,
    RecordedWebhookMessage,
    _ApiError,
    _form_error,
    _Interaction,
    _Reply,
    _unknown_message,
    _unknown_webhook,
    _validate_choices,
    _validate_message_body,
)
from tests.fakes.discord.wire import (
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE_MESSAGE,
    CALLBACK_PONG,
    CALLBACK_UPDATE_MESSAGE,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_MESSAGE_COMPONENT,
    INTERACTION_PING,
    JSON,
    MESSAGE_CHAT_INPUT_COMMAND,
    MESSAGE_CONTEXT_MENU_COMMAND,
    MESSAGE_DEFAULT,
    MESSAGE_FLAG_EPHEMERAL,
    MESSAGE_FLAG_LOADING,
    _now_iso,
)

INTERACTION_DEADLINE = 3.0  # seconds Discord waits for an interaction's first answer
_ALLOWED_CALLBACKS: dict[int, frozenset[int]] = {
    INTERACTION_PING: frozenset({CALLBACK_PONG}),
    INTERACTION_APPLICATION_COMMAND: frozenset(
        {
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
        }
    ),
    INTERACTION_MESSAGE_COMPONENT: frozenset(
        {
            CALLBACK_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_CHANNEL_MESSAGE,
            CALLBACK_DEFERRED_UPDATE_MESSAGE,
            CALLBACK_UPDATE_MESSAGE,
        }
    ),
    INTERACTION_AUTOCOMPLETE: frozenset({CALLBACK_AUTOCOMPLETE_RESULT}),
}


class Callbacks:
    """Answers to interactions (see the module docstring)."""

    def _interaction_message(
        self,
        itx: _Interaction,
        body: JSON,
        *,
        original: bool,
        attachments: list[RecordedAttachment] | None = None,
    ) -> JSON:
        channel = self._channel(itx.channel_id)
        flags = int(body.get("flags") or 0)
        ephemeral = bool(flags & MESSAGE_FLAG_EPHEMERAL)
        metadata: JSON = {
            "id": str(itx.id),
            "type": itx.type,
            "user": self.users[itx.user_id].payload(),
            "authorizing_integration_owners": dict(itx.owners),
        }
        if itx.type == INTERACTION_APPLICATION_COMMAND and itx.command_name is not None:
            metadata.update(name=itx.command_name, command_type=itx.command_type or 1)
        if itx.component_message_id is not None and itx.type == INTERACTION_MESSAGE_COMPONENT:
            metadata["interacted_message_id"] = str(itx.component_message_id)
        if not original and itx.original_message_id is not None:
            metadata["original_response_message_id"] = str(itx.original_message_id)
        if original and itx.type == INTERACTION_APPLICATION_COMMAND:
            msg_type = (
                MESSAGE_CONTEXT_MENU_COMMAND
                if (itx.command_type or 1) != 1
                else MESSAGE_CHAT_INPUT_COMMAND
            )
        else:
            msg_type = MESSAGE_DEFAULT
        return self._build_message(
            channel,
            self.bot_user.payload(),
            content=str(body.get("content") or ""),
            embeds=list(body.get("embeds") or []),
            attachments=self._attachment_payloads(
                attachments or [], channel.id, ephemeral=ephemeral
            ),
            allowed_mentions=body.get("allowed_mentions"),
            reference=None,
            webhook_id=self.application_id,
            components=list(body.get("components") or []),
            flags=flags,
            tts=bool(body.get("tts")),
            message_type=msg_type,
            extra={"application_id": str(self.application_id), "interaction_metadata": metadata},
        )

    def _apply_edit(
        self, msg: JSON, body: JSON, new: list[RecordedAttachment] | None = None
    ) -> None:
        ephemeral = bool(int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        attachments = self._edited_attachments(msg, body, new or [], ephemeral=ephemeral)
        if attachments is not None:
            msg["attachments"] = attachments
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                value = body[key]
                if key == "embeds":
                    value = [{"type": "rich", **e} for e in value or []]
                elif key == "content":
                    value = value or ""
                elif key == "components":
                    value = value or []
                if key != "allowed_mentions":
                    msg[key] = value
        if "flags" in body and body["flags"] is not None:
            keep = int(msg.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL
            msg["flags"] = (int(body["flags"]) & ~MESSAGE_FLAG_LOADING) | keep
        else:
            msg["flags"] = int(msg.get("flags") or 0) & ~MESSAGE_FLAG_LOADING
        if "content" in body:
            channel = self._channel(int(msg["channel_id"]))
            ids, roles, everyone = self._mentions(
                channel, msg["content"], body.get("allowed_mentions"), None
            )
            msg["mentions"] = [self.users[u].payload() for u in ids]
            msg["mention_roles"] = [str(r) for r in roles]
            msg["mention_everyone"] = everyone
        msg["edited_timestamp"] = _now_iso()

    async def _interaction_callback(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._interactions.get(int(m[1]))
        if itx is None or (
            self.interaction_deadline is not None
            and self.clock() - itx.created > self.interaction_deadline
        ):
            raise _ApiError(404, "Unknown interaction", 10062)
        if m[2] != itx.token:
            raise _ApiError(401, "Invalid Webhook Token", 50027)
        if itx.response_type is not None:
            raise _ApiError(400, "Interaction has already been acknowledged.", 40060)
        body = rec.json if isinstance(rec.json, dict) else {}
        ctype = body.get("type")
        if not isinstance(ctype, int):
            raise _form_error(["type"], "BASE_TYPE_REQUIRED", "This field is required")
        if ctype not in _ALLOWED_CALLBACKS.get(itx.type, frozenset()):
            raise _form_error(
                ["type"], "INTERACTION_CALLBACK_TYPE_INVALID", "Invalid interaction callback type"
            )
        data = body.get("data")
        data = data if isinstance(data, dict) else None

        message_id: int | None = None
        resource: JSON = {"type": ctype}
        loading = False
        ephemeral = bool(data and int(data.get("flags") or 0) & MESSAGE_FLAG_EPHEMERAL)
        echo: tuple[JSON, str] | None = None
        attachments: list[RecordedAttachment] = []
        if ctype == CALLBACK_CHANNEL_MESSAGE:
            _validate_message_body(data or {}, require_content=True, path=("data",))
            attachments = self._new_attachments(data or {}, rec.files, ("data",))
            msg = self._interaction_message(itx, data or {}, original=True, attachments=attachments)
            self._store_message(msg)
            message_id = int(msg["id"])
            itx.original_message_id = message_id
            resource["message"] = copy.deepcopy(msg)
            echo = (msg, "MESSAGE_CREATE")
        elif ctype == CALLBACK_DEFERRED_CHANNEL_MESSAGE:
            flags = MESSAGE_FLAG_LOADING | (MESSAGE_FLAG_EPHEMERAL if ephemeral else 0)
            msg = self._interaction_message(itx, {"flags": flags}, original=True)
            self._store_message(msg)
            message_id = int(msg["id"])
            itx.original_message_id = message_id
            loading = True
            echo = (msg, "MESSAGE_CREATE")
        elif ctype in (CALLBACK_DEFERRED_UPDATE_MESSAGE, CALLBACK_UPDATE_MESSAGE):
            target_id = itx.component_message_id
            target = self._message_store.get(target_id) if target_id is not None else None
            if target is None:
                raise _unknown_message()
            message_id = target_id
            itx.original_message_id = target_id
            if ctype == CALLBACK_UPDATE_MESSAGE:
                _validate_message_body(data or {}, require_content=False, path=("data",))
                attachments = self._new_attachments(data or {}, rec.files, ("data",))
                self._apply_edit(target, data or {}, attachments)
                resource["message"] = copy.deepcopy(target)
                echo = (target, "MESSAGE_UPDATE")
        elif ctype == CALLBACK_AUTOCOMPLETE_RESULT:
            _validate_choices(data or {})
        itx.response_type = ctype
        self.interaction_callbacks.append(
            RecordedCallback(
                interaction_id=itx.id,
                interaction_type=itx.type,
                type=ctype,
                data=copy.deepcopy(data),
                token=itx.token,
                message_id=message_id,
                payload=copy.deepcopy(body),
                attachments=attachments,
            )
        )
        if echo is not None:
            await self._echo(echo[0], event=echo[1])
        interaction: JSON = {"id": str(itx.id), "type": itx.type}
        if message_id is not None:
            interaction.update(
                response_message_id=str(message_id),
                response_message_loading=loading,
                response_message_ephemeral=ephemeral,
            )
        if rec.query.get("with_response") in ("1", "true", "True"):
            return _Reply(200, {"interaction": interaction, "resource": resource})
        return _Reply(204)

    def _webhook_interaction(self, m: re.Match[str]) -> _Interaction:
        if int(m[1]) != self.application_id:
            raise _unknown_webhook()
        itx = next((i for i in self._interactions.values() if i.token == m[2]), None)
        if itx is None or itx.response_type is None:
            raise _unknown_webhook()
        return itx

    def _webhook_target(self, itx: _Interaction, raw_id: str) -> tuple[JSON, bool]:
        if raw_id == "@original":
            mid = itx.original_message_id
            original = True
        else:
            mid = int(raw_id)
            original = mid == itx.original_message_id
            if not original and mid not in itx.followup_ids:
                raise _unknown_message()
        msg = self._message_store.get(mid) if mid is not None else None
        if msg is None:
            raise _unknown_message()
        return msg, original

    async def _webhook_execute(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        body = rec.json if isinstance(rec.json, dict) else {}
        _validate_message_body(body, require_content=True)
        attachments = self._new_attachments(body, rec.files)
        msg = self._interaction_message(itx, body, original=False, attachments=attachments)
        self._store_message(msg)
        mid = int(msg["id"])
        itx.followup_ids.append(mid)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="create",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=mid,
                original=False,
                payload=copy.deepcopy(body),
                attachments=attachments,
            )
        )
        await self._echo(msg)
        if rec.query.get("wait") in ("1", "true", "True"):
            return _Reply(200, copy.deepcopy(msg))
        return _Reply(204)

    async def _webhook_edit(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        """``PATCH …/messages/@original`` or a follow-up's id: edit_original_response & co."""
        itx = self._webhook_interaction(m)
        msg, original = self._webhook_target(itx, m[3])
        body = rec.json if isinstance(rec.json, dict) else {}
        _validate_message_body(body, require_content=False)
        attachments = self._new_attachments(body, rec.files)
        self._apply_edit(msg, body, attachments)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="edit",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=int(msg["id"]),
                original=original,
                payload=copy.deepcopy(body),
                attachments=attachments,
            )
        )
        await self._echo(msg, event="MESSAGE_UPDATE")
        return _Reply(200, copy.deepcopy(msg))

    async def _webhook_delete(self, rec: RecordedRequest, m: re.Match[str]) -> _Reply:
        itx = self._webhook_interaction(m)
        msg, original = self._webhook_target(itx, m[3])
        mid = int(msg["id"])
        self._message_store.pop(mid, None)
        self.webhook_messages.append(
            RecordedWebhookMessage(
                action="delete",
                application_id=self.application_id,
                token=itx.token,
                interaction_id=itx.id,
                message_id=mid,
                original=original,
                payload={},
            )
        )
        await self._dispatch_delete(msg)
        return _Reply(204)
