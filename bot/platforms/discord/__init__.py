"""The Discord platform: discord.py's client with `/maxim`, `/maxim-daily`, NaN answers, posts.

- `connection`: endpoints, intents, signing in, the fatal gateway close codes;
- `client`: the client and its command tree (`build_discord_client`);
- `handlers`: what each command, button press and message does (`DiscordHandlers`), and
  where the bot is not in the channel (a user install), how it answers through the
  interaction alone;
- `suggestions`: autocomplete for `/maxim query` and `/maxim-daily zone`;
- `render`: replies as embeds, buttons and notices; a card as a file shown by its embed;
- `uploads`: sending a card, and the text form once when Discord refuses the file;
- `sync`: syncing the commands only when they changed;
- `poster`: the daily post (`DiscordPoster`);
- `lifecycle`: `DiscordPlatform`, the runner's view of it all;
- `cli`: ``maxim-bot discord invite|sync``;
- `compat`: every reliance on discord.py internals.
"""

PLATFORM = "discord"
