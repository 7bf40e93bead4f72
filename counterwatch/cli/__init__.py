"""The `counterwatch` command line: the one place every command is registered (the console script is
`counterwatch.cli:main`).

    counterwatch.cli            the `main` group; load_config_or_exit, read_image_or_exit, EXIT_BAD_INPUT
    counterwatch.cli.config     check-config
    counterwatch.cli.detect     detect
    counterwatch.cli.sign       sign
    counterwatch.cli.demo       demo-scene, demo
    counterwatch.cli.run        run
    counterwatch.cli.serve      serve (and what run shares with it: API settings, --scoring-config, first accounts)
    counterwatch.cli.accounts   users add|passwd|list, keys create|list|revoke
    counterwatch.cli.models     models list|verify|export|train-detector, with counterwatch.cli.learning's
                                train-heads|promote|rollback|loso|adapt-curve|shadow-report mounted on it
    counterwatch.cli.dataset    dataset export|import
    counterwatch.cli.eval       eval persons|frames|clip|clips
    counterwatch.cli.bench      bench perception|pipeline|heads|soak|durability (what they measure: bench/perception.py,
                                bench/pipeline.py, bench/heads.py, bench/soak.py; durability:
                                monitor_api.storage.durability)
    counterwatch.cli.purge      purge
    counterwatch.cli.calendar   calendar update

The command modules parse options and print; what they run lives in the layers below (monitor_api and
counterwatch.runtime, the rest of counterwatch, vision, models and cameras), none of which imports this package.
"""
from __future__ import annotations

import logging

import click

from counterwatch.cli._inputs import EXIT_BAD_INPUT, load_config_or_exit, read_image_or_exit
from counterwatch.cli.accounts import keys, users
from counterwatch.cli.bench import bench
from counterwatch.cli.calendar import calendar_cli
from counterwatch.cli.centre import centre, nats_config, push_head
from counterwatch.cli.config import check_config
from counterwatch.cli.dataset import dataset_cli
from counterwatch.cli.demo import demo, demo_scene
from counterwatch.cli.demo_county import demo_county
from counterwatch.cli.detect import detect
from counterwatch.cli.eval import eval_cli
from counterwatch.cli.models import models_cli
from counterwatch.cli.purge import purge
from counterwatch.cli.run import run
from counterwatch.cli.serve import serve
from counterwatch.cli.sign import sign

__all__ = ["EXIT_BAD_INPUT", "load_config_or_exit", "main", "read_image_or_exit"]


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at DEBUG level.")
def main(verbose: bool) -> None:
    """counterwatch: conduct monitor for government service halls (政务服务大厅)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


main.add_command(check_config, "check-config")
main.add_command(detect, "detect")
main.add_command(sign, "sign")
main.add_command(demo_scene, "demo-scene")
main.add_command(demo, "demo")
main.add_command(demo_county, "demo-county")
main.add_command(run, "run")
main.add_command(serve, "serve")
main.add_command(centre, "centre")
main.add_command(nats_config, "nats-config")
main.add_command(push_head, "push-head")
main.add_command(users, "users")
main.add_command(keys, "keys")
main.add_command(models_cli, "models")
main.add_command(dataset_cli, "dataset")
main.add_command(eval_cli, "eval")
main.add_command(bench, "bench")
main.add_command(purge, "purge")
main.add_command(calendar_cli, "calendar")
