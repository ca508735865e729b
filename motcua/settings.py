"""Django settings: the one place that reads the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE

from core.datadir import data_dir
from motcua.deployment import beat_schedule, cache_url, secret_key, trusted_proxies

django_stubs_ext.monkeypatch()  # admin and other generics subscriptable at run time

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = data_dir(_env("MOTCUA_DATA_DIR"))
INBOX_DIR = DATA_DIR / "inbox"
INTAKE_DIR = DATA_DIR / "intake"
WORK_DIR = DATA_DIR / "work"
STORE_DIR = DATA_DIR / "store"
FAILED_DIR = DATA_DIR / "failed"
OUTBOX_DIR = DATA_DIR / "outbox"
RUN_DIR = DATA_DIR / "run"
LOG_DIR = DATA_DIR / "log"
PKI_DIR = DATA_DIR / "pki"
TRUST_DIR = PKI_DIR / "trust"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
"""Files administrators upload (signature and seal images); never served to the public."""


SECRET_KEY = secret_key(_env("MOTCUA_SECRET_KEY"), DATA_DIR)
DEBUG = _env_bool("MOTCUA_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in _env("MOTCUA_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o for o in _env("MOTCUA_CSRF_TRUSTED_ORIGINS").split(",") if o]

INSTALLED_APPS = [
    "motcua.apps.MotcuaConfig",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "dossiers",
    "audit",
    "watch_folders",
    "digitize",
    "signing",
    "publishing",
    "backoffice",
    "accounts",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy with a nonce per response
    # before anything that reads a body: refuses an oversized or unsized one (motcua.middleware)
    "motcua.middleware.BodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "audit.services.context.AuditContextMiddleware",  # who and from where, for the audit trail
    "django_otp.middleware.OTPMiddleware",  # request.user.is_verified(): second factor shown
    "accounts.middleware.SignInMiddleware",  # second factor required, idle timeout by role
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the page saying when to retry
]

ROOT_URLCONF = "motcua.urls"
WSGI_APPLICATION = "motcua.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "motcua" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dossiers.services.access.menu",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = _env("MOTCUA_DATABASE_URL")
DATABASES: dict[str, Any]
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "motcua.sqlite3",
            "OPTIONS": {
                # Several worker processes write: WAL lets readers go on, IMMEDIATE
                # transactions queue writers instead of failing on upgrade.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DATABASES["default"].setdefault("CONN_MAX_AGE", 60)
"""Each thread keeps its connection between requests, for a minute at most (opening a
SQLite one and setting its PRAGMAs cost as much CPU as the rest of a public lookup)."""

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# --- sign-in: throttling, second factor, sessions (accounts) --------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out username and address
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(_env("MOTCUA_LOGIN_FAILURES", "5"))
"""Wrong passwords for one username from one address before that pair must wait."""
AXES_COOLOFF_TIME = timedelta(minutes=float(_env("MOTCUA_LOGIN_COOLOFF_MIN", "15")))
"""How long the pair waits; each wrong password during the wait starts it again."""
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
"""Only the pair is locked: guesses from elsewhere never lock the official's own address."""
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "publishing.services.clients.client_address"
"""The address as the public throttle sees it: X-Forwarded-For only from TRUSTED_PROXIES."""
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_USERNAME_FORM_FIELD = "username"
# Lockouts lift by themselves (the cool-off); axes' own admin pages speak only English.
AXES_ENABLE_ADMIN = False
OTP_TOTP_ISSUER = "Mot cua so"
"""The name an authenticator app shows beside the account (ASCII: some apps drop accents)."""
SECOND_FACTOR_IDLE_S = int(float(_env("MOTCUA_SIGNER_IDLE_MIN", "15")) * 60)
"""Idle minutes after which the session of an official or administrator ends."""
SESSION_COOKIE_AGE = int(float(_env("MOTCUA_SESSION_IDLE_HOURS", "9")) * 3600)
"""Idle time after which anyone else's session ends: a working day."""
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- language and time ----------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", "Tiếng Việt"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "motcua" / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- request bodies and the public verification page (/kiem-tra/) --------------------------
VERIFY_MAX_BYTES = 20 * 1024 * 1024
"""The largest PDF a citizen may upload for verification."""
REQUEST_BODY_MAX_BYTES = 2 * 1024 * 1024
"""The largest request body of every path not in REQUEST_BODY_LIMITS (forms, the admin)."""
REQUEST_BODY_LIMITS = {"/kiem-tra/": VERIFY_MAX_BYTES + 64 * 1024}
"""Larger bodies by exact path: the verification upload, its form and multipart framing.
``motcua.middleware.BodyLimitMiddleware`` refuses a larger Content-Length with 413 before
anything reads the body; waitress refuses beyond the largest of all (``motcua.roles``)."""
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES  # the non-file fields of a request
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # a larger upload goes to a temporary file
DATA_UPLOAD_MAX_NUMBER_FILES = 10
VERIFY_TIMEOUT_S = float(_env("MOTCUA_VERIFY_TIMEOUT_S", "4"))
"""Wall-clock seconds one verification may take before its process is killed."""
VERIFY_CPU_S = int(_env("MOTCUA_VERIFY_CPU_S", "4"))
VERIFY_MEMORY_MB = int(_env("MOTCUA_VERIFY_MEMORY_MB", "768"))
VERIFY_CONCURRENCY = int(_env("MOTCUA_VERIFY_CONCURRENCY", "2"))
"""Verifications one web process runs at once; beyond that the page answers "busy"."""
VERIFY_SPARES = int(_env("MOTCUA_VERIFY_SPARES", "2"))
"""Verification children kept forked and waiting for the next file, one per slot. Each web
process starts one fork server that imports pyHanko once (about a second of CPU); a child
forked from it is ready in milliseconds and checks under its own CPU, memory and time
limits (``signing.verify.sandbox``)."""
VERIFY_RATE_LIMIT = int(_env("MOTCUA_VERIFY_RATE_LIMIT", "30"))
VERIFY_RATE_WINDOW_S = int(_env("MOTCUA_VERIFY_RATE_WINDOW_S", "600"))
"""At most VERIFY_RATE_LIMIT verifications per client address in this many seconds."""
VERIFY_CACHE_S = 300
"""How long the verification of a stored document (its QR code's page) is reused."""
WEB_PROCESSES = int(_env("MOTCUA_WEB_PROCESSES", str(os.cpu_count() or 1)))
"""Processes of the web server (``motcua.webserver``), one per core by default: Python runs
one thread at a time per process. Each has its own threads and verification slots."""

# --- broker and Celery ----------------------------------------------------------------------
REDIS_SOCKET = RUN_DIR / "redis.sock"
BROKER_URL = _env("MOTCUA_BROKER_URL")
EMBEDDED = not BROKER_URL
CELERY_BROKER_URL = BROKER_URL or f"redis+socket://{REDIS_SOCKET}"


CACHE_URL = cache_url(_env("MOTCUA_CACHE_URL"), BROKER_URL, REDIS_SOCKET)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CACHE_URL,
        "KEY_PREFIX": "motcua",
        # A Redis that does not answer fails the request in seconds instead of hanging it.
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}


TRUSTED_PROXIES = trusted_proxies(_env("MOTCUA_TRUSTED_PROXIES"))
"""Whose X-Forwarded-For the public pages believe (``publishing.services.clients``); 0: nobody's."""

CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = 1200
"""Seconds after which a task's worker process is killed (a task may set a shorter one)."""
BROKER_VISIBILITY_TIMEOUT_S = 3600
"""Redis hands an unacknowledged message out again after this long: it must exceed every
task's time limit plus its longest countdown (tests/motcua/test_visibility.py), or a task
still running or waiting for its retry would be delivered twice."""
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT_S}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_WORKER_DIRECT = True  # each worker also takes its own queue: its watchdog pings it there
WORKER_WATCH_S = float(_env("MOTCUA_WORKER_WATCH_S", "30"))
"""Seconds between a worker's pings to itself; one idle through two it never took has stopped
consuming and starts again in place (``motcua.watchdog``); 0: no watchdog."""
TASK_QUEUES = ("default", "ocr", "assemble", "sign", "notify")
"""The queues tasks are routed to; Celery creates each (a direct exchange of its name)."""
CELERY_TASK_ROUTES = {
    "digitize.tasks.ocr_page": {"queue": "ocr"},
    "digitize.tasks.prepare_document": {"queue": "assemble"},
    "digitize.tasks.assemble_document": {"queue": "assemble"},
    "signing.tasks.*": {"queue": "sign"},
    "publishing.tasks.*": {"queue": "notify"},
}
CELERY_TASK_ALWAYS_EAGER = _env_bool("MOTCUA_TASKS_EAGER", False)
CELERY_TASK_EAGER_PROPAGATES = True
RECOVERY_EVERY_S = float(_env("MOTCUA_RECOVERY_EVERY_S", "60"))
"""Seconds between two runs of each stage's recovery (what a killed worker or a lost message
left behind)."""
LEASE_SWEEP_S = float(_env("MOTCUA_LEASE_SWEEP_S", "15"))
"""Seconds between two looks for units whose lease lapsed (``digitize.tasks.recover_leases``):
a dead worker's pages are taken over within a lease (30 s) and this."""
STATISTICS_STORE_S = float(_env("MOTCUA_STATISTICS_STORE_S", "3600"))
"""Seconds between two storings of the statistics' closed months (``backoffice.tasks``)."""
CELERY_BEAT_SCHEDULE = beat_schedule(
    recovery_s=RECOVERY_EVERY_S,
    lease_sweep_s=LEASE_SWEEP_S,
    deadline_watch_s=float(_env("MOTCUA_DEADLINE_WATCH_S", "900")),
    statistics_s=STATISTICS_STORE_S,
)
# Working days before its due date at which an open dossier is flagged to its office.
DUE_SOON_WORKING_DAYS = int(_env("MOTCUA_DUE_SOON_WORKING_DAYS", "1"))
# Working days an apology letter (form 04) proposes by default for the new appointment.
APOLOGY_EXTRA_DAYS = int(_env("MOTCUA_APOLOGY_EXTRA_DAYS", "3"))
# Seconds a document may sit in a working state before its stage's recovery re-enqueues it.
STAGE_LIMITS_S = {
    "RECEIVED": float(_env("MOTCUA_LIMIT_RECEIVED_S", "120")),
    "DIGITIZING": float(_env("MOTCUA_LIMIT_DIGITIZING_S", "900")),
    "SIGNED": float(_env("MOTCUA_LIMIT_SIGNED_S", "120")),
    "PUBLISHED": float(_env("MOTCUA_LIMIT_PUBLISHED_S", "300")),
}

# --- pipeline -------------------------------------------------------------------------------
WATCH_SETTLE_S = float(_env("MOTCUA_SETTLE_SECONDS", "5"))
WATCH_POLLING = _env_bool("MOTCUA_WATCH_POLLING", False)
WATCH_RESCAN_S = float(_env("MOTCUA_WATCH_RESCAN_S", "2"))
OCR_LANG = _env("MOTCUA_OCR_LANG", "vie")
OCR_TIMEOUT_S = float(_env("MOTCUA_OCR_TIMEOUT_S", "300"))
STAMP_FONT = Path(
    _env("MOTCUA_STAMP_FONT", "/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
)
PUBLIC_BASE_URL = _env("MOTCUA_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- transport: HTTPS behind a reverse proxy ------------------------------------------------
HTTPS = _env_bool("MOTCUA_HTTPS", not DEBUG and PUBLIC_BASE_URL.startswith("https://"))
"""Whether people reach the service over HTTPS (on by default when the public address is
https:// and not in debug mode; ``motcua run`` on plain http on a district's machine stays off)."""
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = int(_env("MOTCUA_HSTS_SECONDS", "31536000")) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("MOTCUA_HSTS_SUBDOMAINS", False)
if HTTPS and TRUSTED_PROXIES:
    # only a trusted proxy's word says the request came over HTTPS
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS and bool(TRUSTED_PROXIES) and _env_bool("MOTCUA_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# --- Content-Security-Policy (django-csp): inline <script> and <style> carry the nonce ------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "style-src-attr": [UNSAFE_INLINE],  # style="…" attributes only, never a <style> block
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SIGNING_UNLOCK_FAILURES = int(_env("MOTCUA_UNLOCK_FAILURES", "5"))
"""Wrong key passphrases in a row before a signer must wait (signing.services.unlock_throttle)."""
SIGNING_TOKEN_UNLOCK_FAILURES = int(_env("MOTCUA_TOKEN_UNLOCK_FAILURES", "3"))
"""Wrong token PINs in a row before a signer must wait: below any token's own retry counter."""
SIGNING_UNLOCK_WAIT_S = float(_env("MOTCUA_UNLOCK_WAIT_MIN", "15")) * 60
"""The first wait; it doubles with each further wrong secret (a day at most)."""
SIGNED_OUTPUT_CHECK = "core.pdfa.check.check_pdfa"
"""What every signed result must pass besides its signature: the PDF/A-2b clauses the
digitize stage promises (a dotted path, so that signing does not import digitize)."""

# --- mail -----------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = _env("MOTCUA_FROM_EMAIL", "motcua@localhost")
if _env("MOTCUA_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _env("MOTCUA_EMAIL_HOST")
    # implicit TLS (SMTPS, port 465) or STARTTLS (port 587); never both
    EMAIL_USE_SSL = _env_bool("MOTCUA_EMAIL_SSL", False)
    EMAIL_USE_TLS = not EMAIL_USE_SSL and _env_bool("MOTCUA_EMAIL_TLS", True)
    EMAIL_PORT = int(_env("MOTCUA_EMAIL_PORT", "465" if EMAIL_USE_SSL else "587"))
    EMAIL_HOST_USER = _env("MOTCUA_EMAIL_USER")
    EMAIL_HOST_PASSWORD = _env("MOTCUA_EMAIL_PASSWORD")
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(OUTBOX_DIR / "email")
EMAIL_TIMEOUT = float(_env("MOTCUA_EMAIL_TIMEOUT_S", "30"))
EMAIL_ATTACHMENT_MAX_BYTES = int(float(_env("MOTCUA_EMAIL_ATTACH_MAX_MB", "8")) * 1024 * 1024)
"""Above this size the signed result is not attached; the email links to the lookup page."""

# --- SMS ------------------------------------------------------------------------------------
SMS_URL = _env("MOTCUA_SMS_URL")
"""The HTTP gateway (``https://gw.example/send?to={phone}&text={text}``, or without
``{text}`` a POST of JSON); unset: messages are files in ``OUTBOX_DIR/sms``."""
SMS_USER = _env("MOTCUA_SMS_USER")
SMS_PASSWORD = _env("MOTCUA_SMS_PASSWORD")
SMS_TOKEN = _env("MOTCUA_SMS_TOKEN")
SMS_TIMEOUT_S = float(_env("MOTCUA_SMS_TIMEOUT_S", "10"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": _env("MOTCUA_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # font subsetting and glyph lists: noise in a person's terminal and in the logs
        "fontTools": {"level": "WARNING"},
        "PIL": {"level": "WARNING"},
    },
}
