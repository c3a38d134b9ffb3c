"""Interactions on the emulated Discord: slash commands, autocomplete, button presses, answers.

A mixin of `FakeDiscord`. Tests send interactions with the ``send_*`` helpers; the bot answers
through the callback route and the interaction webhook (follow-ups, deleting the original). What
Discord enforces is enforced here: the initial response within 3 s (else 404 Unknown
interaction, 10062), one response per interaction (40060), the callback types each interaction
allows, and the limits on choices, components and messages (400, 50035).
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.discord.records import (
    RecordedCallback,
    RecordedRequest,
    RecordedWebhookMessage,
    _ApiError,
    _form_error,
    _Interaction,
    _Reply,
    _unknown_message,
    _unknown_webhook,
    _validate_message_body,
    _walk_components,
)
from tests.fakes.discord.wire import (
    ATTACHMENT_SIZE_LIMIT,
    CALLBACK_AUTOCOMPLETE_RESULT,
    CALLBACK_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_CHANNEL_MESSAGE,
    CALLBACK_DEFERRED_UPDATE_MESSAGE,
    CALLBACK_PONG,
    CALLBACK_UPDATE_MESSAGE,
    DEFAULT_BOT_PERMISSIONS,
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
    FakeChannel,
    _now_iso,
)

# Which callback types each interaction type accepts (Discord answers 400 otherwise).
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


class Interactions:
    """The interaction half of the emulator (see the module docstring)."""

    async def send_command(
        self,
        name: str,
        options: list[JSON] | Mapping[str, Any] | None = None,
        *,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        member_permissions: int | str | None = None,
        app_permissions: int | str | None = None,
        resolved: JSON | None = None,
        command_type: int = 1,
        target_id: int | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user runs an application command: dispatches INTERACTION_CREATE type 2.

        ``options`` is the wire list (``[{"name":..,"type":..,"value":..}]``,
        sub-commands nested) or a ``{name: value}`` mapping typed from the synced
        command definition.  ``data.id``/``data.guild_id`` come from the synced
        command when known.  ``member_permissions`` defaults to the member's
        computed permissions (all bits for admins, as Discord sends).
        Returns the interaction id.
        """
        channel = self._interaction_channel(channel_id, guild_id)
        command, scope = self._find_command(name, channel.guild_id, command_type)
        data: JSON = {"id": str(self._command_id(name, scope, command_type, command)), "name": name}
        data["type"] = command_type
        if scope is not None:
            data["guild_id"] = str(scope)
        if options:
            data["options"] = self._build_options(options, command)
        if resolved:
            data["resolved"] = resolved
        if target_id is not None:
            data["target_id"] = str(target_id)
        return await self._send_interaction(
            INTERACTION_APPLICATION_COMMAND,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=app_permissions,
            locale=locale,
            command_name=name,
            command_type=command_type,
        )

    async def send_autocomplete(
        self,
        name: str,
        options: list[JSON] | Mapping[str, Any],
        *,
        focused: str | None = None,
        user_id: int | None = None,
        channel_id: int | None = None,
        guild_id: int | None = None,
        member_permissions: int | str | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user types in an autocompleted option: INTERACTION_CREATE type 4.

        With the list form mark the option ``"focused": True`` yourself; with the
        mapping form pass ``focused=<option name>``.  Returns the interaction id.
        """
        channel = self._interaction_channel(channel_id, guild_id)
        command, scope = self._find_command(name, channel.guild_id, 1)
        built = self._build_options(options, command)
        if focused is not None:
            for opt in self._flat_options(built):
                if opt.get("name") == focused:
                    opt["focused"] = True
                    opt["value"] = str(opt.get("value", ""))
        data: JSON = {"id": str(self._command_id(name, scope, 1, command)), "name": name, "type": 1}
        if scope is not None:
            data["guild_id"] = str(scope)
        data["options"] = built
        return await self._send_interaction(
            INTERACTION_AUTOCOMPLETE,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=None,
            locale=locale,
            command_name=name,
            command_type=1,
        )

    async def send_component(
        self,
        custom_id: str,
        message: JSON | int | None = None,
        *,
        user_id: int | None = None,
        component_type: int = 2,
        values: list[str] | None = None,
        member_permissions: int | str | None = None,
        locale: str = "en-US",
    ) -> int:
        """A user clicks a button / picks from a select: INTERACTION_CREATE type 3.

        ``message`` is the message carrying the component (dict or stored
        message id); by default the newest stored message whose components
        contain ``custom_id``.  Selects (``component_type`` 3, 5-8) get
        ``values``.  Returns the interaction id.
        """
        msg = self._component_message(custom_id, message)
        channel = self._channel(int(msg["channel_id"]))
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        return await self._send_interaction(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=None,
            locale=locale,
            message=msg,
        )

    def _interaction_channel(self, channel_id: int | None, guild_id: int | None) -> FakeChannel:
        if channel_id is not None:
            return self._channel(channel_id)
        guild = self._guild(guild_id)
        channels = guild.text_channels()
        if not channels:
            raise LookupError(f"guild {guild.id} has no text channel")
        return channels[0]

    def _find_command(
        self, name: str, guild_id: int | None, ctype: int
    ) -> tuple[JSON | None, int | None]:
        scopes: list[int | None] = [guild_id, None] if guild_id is not None else [None]
        for scope in scopes:
            for cmd in self.synced_commands.get(scope, []):
                if cmd["name"] == name and int(cmd.get("type", 1)) == ctype:
                    return cmd, scope
        return None, None

    def _command_id(self, name: str, scope: int | None, ctype: int, command: JSON | None) -> int:
        if command is not None:
            return int(command["id"])
        return self._command_ids.setdefault((scope, name, ctype), self.snowflake())

    def _build_options(
        self, options: list[JSON] | Mapping[str, Any], command: JSON | None
    ) -> list[JSON]:
        if not isinstance(options, Mapping):
            return copy.deepcopy(list(options))
        declared = {o["name"]: o for o in (command or {}).get("options", [])}
        built: list[JSON] = []
        for key, value in options.items():
            opt_type = int(declared[key]["type"]) if key in declared else _option_type_for(value)
            built.append({"name": key, "type": opt_type, "value": value})
        return built

    def _flat_options(self, options: list[JSON]) -> Iterator[JSON]:
        for opt in options:
            yield opt
            yield from self._flat_options(opt.get("options") or [])

    def _component_message(self, custom_id: str, message: JSON | int | None) -> JSON:
        if isinstance(message, dict):
            return copy.deepcopy(message)
        if isinstance(message, int):
            found = self._message_store.get(message)
            if found is None:
                raise LookupError(f"no stored message {message}")
            return copy.deepcopy(found)
        for msg in sorted(self._message_store.values(), key=lambda m: int(m["id"]), reverse=True):
            if any(
                c.get("custom_id") == custom_id for c in _walk_components(msg.get("components"))
            ):
                return copy.deepcopy(msg)
        raise LookupError(f"no stored message has a component with custom_id={custom_id!r}")

    async def _send_interaction(
        self,
        itype: int,
        data: JSON,
        *,
        channel: FakeChannel,
        user_id: int | None,
        member_permissions: int | str | None,
        app_permissions: int | str | None,
        locale: str,
        message: JSON | None = None,
        command_name: str | None = None,
        command_type: int | None = None,
    ) -> int:
        user = self._ensure_user(user_id)
        iid = self.snowflake()
        token = "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(48)
        payload: JSON = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": itype,
            "data": data,
            "channel_id": str(channel.id),
            "token": token,
            "version": 1,
            "locale": locale,
            "entitlements": [],
            "entitlement_sku_ids": [],
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        channel_payload = channel.payload(self.users)
        if channel.guild_id is not None:
            guild = self.guilds[channel.guild_id]
            if user.id not in guild.members:
                self.add_member(guild.id, user.id)
            perms = (
                int(member_permissions)
                if member_permissions is not None
                else self.permissions_for(guild.id, user.id, channel.id)
            )
            app_perms = (
                int(app_permissions)
                if app_permissions is not None
                else self.permissions_for(guild.id, self.bot_id, channel.id)
            )
            channel_payload["permissions"] = str(perms)
            payload.update(
                guild_id=str(guild.id),
                guild={"id": str(guild.id), "locale": guild.locale, "features": []},
                guild_locale=guild.locale,
                member=guild.members[user.id].payload(user, permissions=perms),
                app_permissions=str(app_perms),
                authorizing_integration_owners={"0": str(guild.id)},
                context=0,
            )
        else:
            payload.update(
                user=user.payload(),
                app_permissions=str(
                    int(app_permissions) if app_permissions is not None else DEFAULT_BOT_PERMISSIONS
                ),
                authorizing_integration_owners={"0": "0"},
                context=1,
            )
        payload["channel"] = channel_payload
        if message is not None:
            payload["message"] = self._gateway_message(message, channel, webhook=True)
        self._interactions[iid] = _Interaction(
            id=iid,
            token=token,
            type=itype,
            channel_id=channel.id,
            guild_id=channel.guild_id,
            user_id=user.id,
            data=data,
            created=self.clock(),
            command_name=command_name,
            command_type=command_type,
            component_message_id=int(message["id"]) if message is not None else None,
        )
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return iid

    def _interaction_message(self, itx: _Interaction, body: JSON, *, original: bool) -> JSON:
        channel = self._channel(itx.channel_id)
        flags = int(body.get("flags") or 0)
        metadata: JSON = {
            "id": str(itx.id),
            "type": itx.type,
            "user": self.users[itx.user_id].payload(),
            "authorizing_integration_owners": (
                {"0": str(itx.guild_id)} if itx.guild_id is not None else {"0": "0"}
            ),
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
            attachments=[],
            allowed_mentions=body.get("allowed_mentions"),
            reference=None,
            webhook_id=self.application_id,
            components=list(body.get("components") or []),
            flags=flags,
            tts=bool(body.get("tts")),
            message_type=msg_type,
            extra={"application_id": str(self.application_id), "interaction_metadata": metadata},
        )

    def _apply_edit(self, msg: JSON, body: JSON) -> None:
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
        if ctype == CALLBACK_CHANNEL_MESSAGE:
            _validate_message_body(data or {}, require_content=True)
            msg = self._interaction_message(itx, data or {}, original=True)
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
                _validate_message_body(data or {}, require_content=False)
                self._apply_edit(target, data or {})
                resource["message"] = copy.deepcopy(target)
                echo = (target, "MESSAGE_UPDATE")
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
        msg = self._interaction_message(itx, body, original=False)
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
            )
        )
        await self._echo(msg)
        if rec.query.get("wait") in ("1", "true", "True"):
            return _Reply(200, copy.deepcopy(msg))
        return _Reply(204)

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


def _option_type_for(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
