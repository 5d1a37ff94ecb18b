"""Settings for bench/api.py only: the platform's settings with a URLconf that adds bare views."""

from project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.api_urls"
