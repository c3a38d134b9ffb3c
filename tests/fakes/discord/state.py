"""The emulated Discord's state: users, guilds, channels, members, messages and permissions.

A mixin of `FakeDiscord` (`tests.fakes.discord.api`): tests arrange the world with the ``add_*``
helpers and read it back with `get_message`; the REST and interaction halves build, store and
dispatch messages through the same methods, so every message looks alike on the wire.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Any

from tests.fakes.discord.gateway_wire import (
    INTENT_GUILD_MEMBERS,
)
from tests.fakes.discord.records import RecordedWebhookMessage, _unknown_channel
from tests.fakes.discord.wire import (
    ADD_REACTIONS,
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    APP_FLAG_APPLICATION_COMMAND_BADGE,
    APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED,
    APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED,
    APP_FLAG_GATEWAY_PRESENCE_LIMITED,
    ATTACH_FILES,
    CHANNEL_DM,
    CHANNEL_GROUP_DM,
    CHANNEL_PUBLIC_THREAD,
    CHANNEL_TEXT,
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    JSON,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeRole,
    FakeUser,
)

_USER_MENTION_RE = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION_RE = re.compile(r"<@&(\d+)>")


class State:
    """Users, guilds, channels and stored messages (see the module docstring)."""

    @property
    def bot_id(self) -> int:
        """The bot user's id (equal to the application id, as for real bots)."""
        return self.bot_user.id

    def add_user(
        self,
        username: str,
        *,
        bot: bool = False,
        user_id: int | None = None,
        global_name: str | None = None,
    ) -> FakeUser:
        """Create (or replace) a user."""
        user = FakeUser(
            id=user_id or self.snowflake(), username=username, bot=bot, global_name=global_name
        )
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str = "Guild",
        *,
        guild_id: int | None = None,
        owner_id: int | None = None,
        bot_permissions: int = DEFAULT_BOT_PERMISSIONS,
        everyone_permissions: int = DEFAULT_EVERYONE_PERMISSIONS,
        channel_name: str | None = "general",
        locale: str = "en-US",
        with_bot: bool = True,
    ) -> FakeGuild:
        """Create a guild the bot is in: @everyone, a managed bot role and ``#general``.

        Guilds added after the client connected are only seen by it after
        ``await fake.announce_guild(guild.id)`` (GUILD_CREATE). ``with_bot=False`` makes a
        server the bot is not in (where only a user install can run its commands): the
        gateway never announces it and the bot's REST calls there answer 403 Missing Access.
        """
        gid = guild_id or self.snowflake()
        guild = FakeGuild(id=gid, name=name, owner_id=owner_id or self.owner_user.id, locale=locale)
        guild.roles[gid] = FakeRole(id=gid, name="@everyone", permissions=everyone_permissions)
        bot_role = FakeRole(
            id=self.snowflake(),
            name=self.bot_user.username,
            permissions=bot_permissions,
            position=1,
            bot_id=self.bot_id,
        )
        if with_bot:
            guild.roles[bot_role.id] = bot_role
            guild.members[self.bot_id] = FakeMember(user_id=self.bot_id, role_ids=[bot_role.id])
        self.guilds[gid] = guild
        if channel_name is not None:
            self.add_channel(gid, channel_name)
        return guild

    def add_channel(
        self,
        guild_id: int | None = None,
        name: str = "general",
        *,
        channel_type: int = CHANNEL_TEXT,
        channel_id: int | None = None,
        topic: str | None = None,
        parent_id: int | None = None,
        overwrites: list[JSON] | None = None,
    ) -> FakeChannel:
        """Add a guild channel (text by default); ``overwrites`` use the wire shape."""
        guild = self._guild(guild_id)
        channel = FakeChannel(
            id=channel_id or self.snowflake(),
            name=name,
            type=channel_type,
            guild_id=guild.id,
            position=len(guild.channels),
            topic=topic,
            parent_id=parent_id,
            overwrites=list(overwrites or []),
        )
        guild.channels[channel.id] = channel
        self.channels[channel.id] = channel
        return channel

    def add_text_channel(
        self, guild_id: int | None = None, name: str = "general", **kwargs: Any
    ) -> FakeChannel:
        """Shorthand for :meth:`add_channel` with a text channel."""
        return self.add_channel(guild_id, name, channel_type=CHANNEL_TEXT, **kwargs)

    def add_thread(self, parent_id: int, name: str = "thread", *, owner_id: int = 0) -> FakeChannel:
        """Start a public thread in a text channel (not announced over the gateway)."""
        parent = self._channel(parent_id)
        thread = FakeChannel(
            id=self.snowflake(),
            name=name,
            type=CHANNEL_PUBLIC_THREAD,
            guild_id=parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id or self.default_user_id,
        )
        self.channels[thread.id] = thread  # not among the guild's channels, as in GUILD_CREATE
        return thread

    def add_role(self, guild_id: int | None, name: str, permissions: int = 0) -> FakeRole:
        """Add a role to a guild."""
        guild = self._guild(guild_id)
        role = FakeRole(
            id=self.snowflake(), name=name, permissions=permissions, position=len(guild.roles)
        )
        guild.roles[role.id] = role
        return role

    def add_member(
        self,
        guild_id: int | None = None,
        user_id: int | None = None,
        *,
        username: str | None = None,
        permissions: int | None = None,
        role_ids: Iterable[int] = (),
        bot: bool = False,
        nick: str | None = None,
    ) -> FakeMember:
        """Add a member (creating the user if needed).

        ``permissions`` creates a dedicated role granting exactly those bits
        (on top of @everyone); use ``ADMINISTRATOR`` for an admin.
        """
        guild = self._guild(guild_id)
        if user_id is None or user_id not in self.users:
            user = self.add_user(username or f"user{len(self.users)}", bot=bot, user_id=user_id)
            user_id = user.id
        roles = list(role_ids)
        if permissions is not None:
            role = self.add_role(guild.id, f"perms-{self.users[user_id].username}", permissions)
            roles.append(role.id)
        member = FakeMember(user_id=user_id, role_ids=roles, nick=nick)
        guild.members[user_id] = member
        return member

    def add_dm_channel(self, user_id: int | None = None) -> FakeChannel:
        """Return the DM channel between the bot and ``user_id`` (created on demand)."""
        uid = user_id or self.default_user_id
        for channel in self.channels.values():
            if channel.is_dm and channel.recipient_ids == [uid]:
                return channel
        if uid not in self.users:
            self.add_user(f"user{len(self.users)}", user_id=uid)
        channel = FakeChannel(id=self.snowflake(), name="", type=CHANNEL_DM, recipient_ids=[uid])
        self.channels[channel.id] = channel
        return channel

    def add_private_channel(self, *user_ids: int, name: str = "") -> FakeChannel:
        """A group DM among users, without the bot: only a user install can be used there.

        The first user made it. Discord sends the bot no events of it, and the bot's own
        REST calls there answer 403 Missing Access.
        """
        for uid in user_ids:
            self._ensure_user(uid)
        channel = FakeChannel(
            id=self.snowflake(),
            name=name,
            type=CHANNEL_GROUP_DM,
            recipient_ids=list(user_ids),
            owner_id=user_ids[0],
            bot_member=False,
        )
        self.channels[channel.id] = channel
        return channel

    def bot_sees(self, channel: FakeChannel) -> bool:
        """Whether the bot is in the channel: its own DMs and the channels of its servers."""
        if channel.guild_id is None:
            return channel.bot_member
        return self.bot_id in self.guilds[channel.guild_id].members

    def _bot_guilds(self) -> list[FakeGuild]:
        return [g for g in self.guilds.values() if self.bot_id in g.members]

    def deny_channel(self, channel_id: int) -> None:
        """Make bot posts/reactions in ``channel_id`` fail with 403 Missing Permissions.

        Only the bot's permissions change (REST answers and ``app_permissions`` of later
        interactions); members keep theirs, and the client's cached overwrites do not change.
        """
        self._denied_channels.add(channel_id)

    def permissions_for(self, guild_id: int, user_id: int, channel_id: int | None = None) -> int:
        """Compute a member's permissions the way Discord does (roles, admin, overwrites)."""
        guild = self._guild(guild_id)
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        role_ids = member.role_ids if member else []
        perms = guild.everyone.permissions
        for rid in role_ids:
            if rid in guild.roles:
                perms |= guild.roles[rid].permissions
        if perms & ADMINISTRATOR:
            return ALL_PERMISSIONS
        channel = self.channels.get(channel_id) if channel_id else None
        if channel is not None and channel.is_thread:  # threads take their parent's overwrites
            channel = self.channels.get(channel.parent_id or 0)
        if channel is not None and channel.guild_id == guild.id:
            by_id = {int(o["id"]): o for o in channel.overwrites}
            everyone = by_id.get(guild.id)
            if everyone:
                perms = (perms & ~int(everyone["deny"])) | int(everyone["allow"])
            allow = deny = 0
            for rid in role_ids:
                ow = by_id.get(rid)
                if ow and int(ow.get("type", 0)) == 0:
                    allow |= int(ow["allow"])
                    deny |= int(ow["deny"])
            perms = (perms & ~deny) | allow
            ow = by_id.get(user_id)
            if ow and int(ow.get("type", 1)) == 1:
                perms = (perms & ~int(ow["deny"])) | int(ow["allow"])
        if channel_id in self._denied_channels and user_id == self.bot_id:
            perms &= ~(SEND_MESSAGES | SEND_MESSAGES_IN_THREADS | ADD_REACTIONS)
        if channel_id in self._no_attach_channels and user_id == self.bot_id:
            perms &= ~ATTACH_FILES
        return perms

    def get_message(self, message_id: int) -> JSON | None:
        """The current REST shape of a stored message (user's or bot's), if any."""
        msg = self._message_store.get(message_id)
        return copy.deepcopy(msg) if msg is not None else None

    def original_response(self, interaction_id: int) -> JSON | None:
        """The current original-response message of an interaction, if any."""
        itx = self._interactions.get(interaction_id)
        if itx is None or itx.original_message_id is None:
            return None
        return self.get_message(itx.original_message_id)

    def followups(self, interaction_id: int) -> list[RecordedWebhookMessage]:
        """Follow-up messages created for an interaction."""
        return [
            w
            for w in self.webhook_messages
            if w.interaction_id == interaction_id and w.action == "create"
        ]

    def _guild(self, guild_id: int | None) -> FakeGuild:
        gid = guild_id or self.default_guild_id
        if gid not in self.guilds:
            raise LookupError(f"unknown guild {gid}")
        return self.guilds[gid]

    def _channel(self, channel_id: int) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise _unknown_channel()
        return channel

    def _ensure_user(
        self, user_id: int | None, *, bot: bool = False, username: str | None = None
    ) -> FakeUser:
        if user_id is None:
            if not bot:
                return self.users[self.default_user_id]
            existing = next((u for u in self.users.values() if u.bot and u.id != self.bot_id), None)
            return existing or self.add_user(username or "other-bot", bot=True)
        if user_id not in self.users:
            return self.add_user(username or f"user{len(self.users)}", bot=bot, user_id=user_id)
        return self.users[user_id]

    def _me_payload(self) -> JSON:
        data = self.bot_user.payload()
        data.update(verified=True, mfa_enabled=False, flags=0, email=None, locale="en-US")
        return data

    def _application_flags(self) -> int:
        flags = APP_FLAG_APPLICATION_COMMAND_BADGE
        if self.allow_message_content:
            flags |= APP_FLAG_GATEWAY_MESSAGE_CONTENT_LIMITED
        if self.allow_members:
            flags |= APP_FLAG_GATEWAY_GUILD_MEMBERS_LIMITED
        if self.allow_presences:
            flags |= APP_FLAG_GATEWAY_PRESENCE_LIMITED
        return flags

    def _application_payload(self) -> JSON:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "Fake application served by tests.fakes.discord.api",
            "summary": "",
            "type": None,
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.owner_user.payload(),
            "team": None,
            "flags": self._application_flags(),
            "bot": self.bot_user.payload(),
            "interactions_endpoint_url": None,
            "role_connections_verification_url": None,
            "tags": [],
            "redirect_uris": [],
            "approximate_guild_count": len(self.guilds),
            "integration_types_config": {"0": {}},
        }

    def _guild_payload(self, guild: FakeGuild) -> JSON:
        system_channel = guild.text_channels()[0].id if guild.text_channels() else None
        return {
            "id": str(guild.id),
            "name": guild.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(guild.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [r.payload() for r in guild.roles.values()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": str(system_channel) if system_channel else None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": guild.locale,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "incidents_data": None,
        }

    def _guild_create_payload(self, guild: FakeGuild, intents: int) -> JSON:
        data = self._guild_payload(guild)
        # Without GUILD_MEMBERS Discord only sends the bot's own member.
        member_ids = list(guild.members) if intents & INTENT_GUILD_MEMBERS else [self.bot_id]
        data.update(
            joined_at=guild.joined_at,
            large=False,
            unavailable=False,
            lazy=True,
            member_count=len(guild.members),
            members=[
                guild.members[uid].payload(self.users[uid])
                for uid in member_ids
                if uid in guild.members and uid in self.users
            ],
            channels=[
                c.payload(self.users, include_guild_id=False) for c in guild.channels.values()
            ],
            threads=[],
            presences=[],
            voice_states=[],
            stage_instances=[],
            guild_scheduled_events=[],
            soundboard_sounds=[],
        )
        return data
