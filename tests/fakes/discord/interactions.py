"""Interactions on the emulated Discord: slash commands, autocomplete, button presses, answers.

A mixin of `FakeDiscord`. Tests send interactions with the ``send_*`` helpers; the bot answers
through the callback route and the interaction webhook (follow-ups, deleting the original). What
Discord enforces is enforced here: the initial response within 3 s (else 404 Unknown
interaction, 10062), one response per interaction (40060), the callback types each interaction
allows, and the limits on choices, components and messages (400, 50035).
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from tests.fakes.discord.records import (
    _Interaction,
    _walk_components,
)
from tests.fakes.discord.wire import (
    ATTACHMENT_SIZE_LIMIT,
    CONTEXT_BOT_DM,
    CONTEXT_GUILD,
    CONTEXT_PRIVATE_CHANNEL,
    DEFAULT_BOT_PERMISSIONS,
    GUILD_INSTALL,
    INTERACTION_APPLICATION_COMMAND,
    INTERACTION_AUTOCOMPLETE,
    INTERACTION_MESSAGE_COMPONENT,
    JSON,
    USER_INSTALL,
    FakeChannel,
)


# Which callback types each interaction type accepts (Discord answers 400 otherwise).
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
        context: int | None = None,
        authorizing_integration_owners: Mapping[str, str] | None = None,
    ) -> int:
        """A user runs an application command: dispatches INTERACTION_CREATE type 2.

        ``options`` is the wire list (``[{"name":..,"type":..,"value":..}]``,
        sub-commands nested) or a ``{name: value}`` mapping typed from the synced
        command definition.  ``data.id``/``data.guild_id`` come from the synced
        command when known.  ``member_permissions`` defaults to the member's
        computed permissions (all bits for admins, as Discord sends).
        ``context`` and ``authorizing_integration_owners`` default to where the channel is
        (see `_where`); like Discord, a synced command whose ``contexts`` or
        ``integration_types`` exclude them cannot be run (``LookupError``).
        Returns the interaction id.
        """
        channel = self._interaction_channel(channel_id, guild_id)
        command, scope = self._find_command(name, channel.guild_id, command_type)
        user = self._ensure_user(user_id)
        where = self._where(channel, user.id, context, authorizing_integration_owners)
        _check_offered(name, command, *where)
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
            where=where,
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
        app_permissions: int | str | None = None,
        locale: str = "en-US",
        context: int | None = None,
        authorizing_integration_owners: Mapping[str, str] | None = None,
    ) -> int:
        """A user clicks a button / picks from a select: INTERACTION_CREATE type 3.

        ``message`` is the message carrying the component (dict or stored
        message id); by default the newest stored message whose components
        contain ``custom_id``.  Selects (``component_type`` 3, 5-8) get
        ``values``.  ``context`` and ``authorizing_integration_owners`` default to
        those of the interaction the message answered, as on Discord.  ``app_permissions``
        overrides the bot's computed ones (permissions changed while the press was in flight).
        Returns the interaction id.
        """
        msg = self._component_message(custom_id, message)
        channel = self._channel(int(msg["channel_id"]))
        origin_id = int((msg.get("interaction_metadata") or {}).get("id") or 0)
        origin = self._interactions.get(origin_id)
        if origin is not None:
            context = origin.context if context is None else context
            if authorizing_integration_owners is None:
                authorizing_integration_owners = origin.owners
        user = self._ensure_user(user_id)
        where = self._where(channel, user.id, context, authorizing_integration_owners)
        data: JSON = {"custom_id": custom_id, "component_type": component_type}
        if component_type != 2:
            data["values"] = list(values or [])
        return await self._send_interaction(
            INTERACTION_MESSAGE_COMPONENT,
            data,
            channel=channel,
            user_id=user_id,
            member_permissions=member_permissions,
            app_permissions=app_permissions,
            locale=locale,
            message=msg,
            where=where,
        )

    def _where(
        self,
        channel: FakeChannel,
        user_id: int,
        context: int | None,
        owners: Mapping[str, str] | None,
    ) -> tuple[int, dict[str, str]]:
        """An interaction's ``context`` and ``authorizing_integration_owners``, by default.

        In a channel the bot is in, the server install authorised it (the guild's id; "0" in
        a DM with the bot); anywhere else only the user's own install can have.
        """
        if channel.guild_id is not None:
            default_context = CONTEXT_GUILD
        else:
            default_context = CONTEXT_BOT_DM if channel.bot_member else CONTEXT_PRIVATE_CHANNEL
        if owners is None:
            if self.bot_sees(channel):
                owners = {GUILD_INSTALL: str(channel.guild_id or 0)}
            else:
                owners = {USER_INSTALL: str(user_id)}
        return (default_context if context is None else context), dict(owners)

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
        where: tuple[int, dict[str, str]] | None = None,
    ) -> int:
        user = self._ensure_user(user_id)
        context, owners = where or self._where(channel, user.id, None, None)
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
            )
        else:
            payload.update(
                user=user.payload(),
                app_permissions=str(
                    int(app_permissions) if app_permissions is not None else DEFAULT_BOT_PERMISSIONS
                ),
            )
        payload.update(authorizing_integration_owners=owners, context=context)
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
            context=context,
            owners=owners,
        )
        await self.gateway.dispatch("INTERACTION_CREATE", payload, guild_id=channel.guild_id)
        return iid


def _check_offered(
    name: str, command: JSON | None, context: int, owners: Mapping[str, str]
) -> None:
    """Refuse a command Discord would not offer here (its synced contexts and installs).

    Unset ``contexts`` mean servers, plus DMs with the bot under ``dm_permission``; unset
    ``integration_types`` mean server installs only.
    """
    if command is None:
        return
    contexts = command.get("contexts")
    if contexts is None:
        contexts = (
            [CONTEXT_GUILD, CONTEXT_BOT_DM]
            if command.get("dm_permission", True)
            else [CONTEXT_GUILD]
        )
    installs = {str(t) for t in command.get("integration_types") or [0]}
    if context not in contexts or not installs & set(owners):
        raise LookupError(
            f"Discord would not offer /{name} here: context {context} (allowed {contexts}), "
            f"installs {sorted(owners)} (allowed {sorted(installs)})"
        )


def _option_type_for(value: Any) -> int:
    if isinstance(value, bool):
        return 5
    if isinstance(value, int):
        return 4
    if isinstance(value, float):
        return 10
    return 3
