"""``community-memory doctor`` for Matrix: the account logs in, and the bot is in every
configured room."""

from __future__ import annotations

import tempfile

import aiohttp
from nio import AsyncClient, AsyncClientConfig, JoinedRoomsError, LoginError, WhoamiError

from bot.app.config import Config
from bot.cli.doctor import Check


async def check_matrix(config: Config) -> list[Check]:
    """Credentials, then membership of each configured Matrix room."""
    assert config.matrix is not None
    matrix = config.matrix
    checks: list[Check] = []
    # A throw-away store: checking must not touch the running bot's sync token.
    with tempfile.TemporaryDirectory() as store:
        client = AsyncClient(
            matrix.homeserver,
            matrix.user_id,
            device_id=matrix.device_id,
            store_path=store,
            config=AsyncClientConfig(
                max_limit_exceeded=0, max_timeouts=2, request_timeout=20, encryption_enabled=False
            ),
        )
        try:
            if matrix.access_token:
                client.restore_login(matrix.user_id, matrix.device_id, matrix.access_token)
                answer = await client.whoami()
                if isinstance(answer, WhoamiError):
                    return [_refused("access token", answer.message, "matrix.access_token")]
                if answer.user_id != matrix.user_id:
                    return [
                        Check(
                            False,
                            f"matrix: the access token belongs to {answer.user_id}",
                            f"use a token of {matrix.user_id} in matrix.access_token",
                        )
                    ]
            else:
                login = await client.login(matrix.password, device_name="Community Memory")
                if isinstance(login, LoginError):
                    return [_refused("password", login.message, "matrix.password")]
            checks.append(Check(True, f"matrix: logged in as {matrix.user_id}"))
            joined = await client.joined_rooms()
            if isinstance(joined, JoinedRoomsError):
                return [*checks, Check(False, f"matrix: {joined}", "check the homeserver")]
            for community in config.communities:
                for space in community.spaces:
                    if space.platform != "matrix":
                        continue
                    where = f"matrix room {space.chat_id} ({community.id})"
                    if space.chat_id in joined.rooms:
                        checks.append(Check(True, f"{where}: the bot is in it"))
                    else:
                        checks.append(
                            Check(
                                False,
                                f"{where}: the bot has not joined it",
                                f"invite {matrix.user_id} to the room (it accepts invites)",
                            )
                        )
        except (aiohttp.ClientError, TimeoutError) as exc:
            checks.append(
                Check(False, f"matrix: cannot reach {matrix.homeserver}: {exc}", "check the URL")
            )
        finally:
            await client.close()
    return checks


def _refused(what: str, message: str, key: str) -> Check:
    return Check(
        False,
        f"matrix: the homeserver refused the {what} ({message})",
        f"check {key} (and matrix.user_id)",
    )
