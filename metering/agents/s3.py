"""Storage usage of an S3-compatible bucket: a complete ListObjectsV2 listing, object sizes summed per
storage class. AWS S3 or any server speaking its API (MinIO, Ceph RGW, Cloudflare R2, ...) through a
custom endpoint URL; credentials, region and endpoint from the standard AWS chain (environment, shared
credentials and config files, profiles, container/instance roles) unless given explicitly.

A listing is all pages or nothing: an error on any page (after botocore's retries) raises SourceUnreadable
and the agent emits no sample for the bucket, never the sum of the pages read so far.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import botocore.session
from botocore.config import Config
from botocore.exceptions import (BotoCoreError, ClientError, ConnectionClosedError, EndpointConnectionError,
                                 NoCredentialsError, PartialCredentialsError, ProfileNotFound, ReadTimeoutError)
from botocore.exceptions import ConnectionError as BotoConnectionError

from .storage import ClassTally, SourceUnreadable, class_problem

DEFAULT_CLASS = "STANDARD"  # S3's class of an object stored without one; the class of an empty listing
PAGE_KEYS = 1000  # the most ListObjectsV2 returns per page
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")  # S3's bucket naming rules
# Error codes that mean "these credentials may not list this bucket".
DENIED = frozenset({"AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                    "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AccountProblem"})
WRONG_REGION = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"})


class S3ConfigError(ValueError):
    """A setting that can never work (unknown profile, malformed endpoint or bucket): refused at the edge."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> "S3Location":
        if not url.startswith("s3://"):
            raise S3ConfigError(f"{url!r}: an S3 bucket is written s3://BUCKET[/PREFIX]")
        bucket, _, prefix = url[5:].partition("/")
        if not BUCKET_RE.fullmatch(bucket):
            raise S3ConfigError(f"{url!r}: {bucket!r} is not an S3 bucket name (3-63 of a-z 0-9 . -)")
        return cls(bucket, prefix)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


@dataclass(frozen=True)
class S3Options:
    endpoint_url: str | None = None  # None: AWS, or AWS_ENDPOINT_URL[_S3] / the profile's endpoint_url
    profile: str | None = None  # None: AWS_PROFILE or "default"
    region: str | None = None  # None: AWS_REGION / AWS_DEFAULT_REGION / the profile's region
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    attempts: int = 3  # per request, the first included (botocore's standard retry mode, with backoff)


def s3_client(opts: S3Options):
    """A botocore S3 client with the standard credential chain. Credentials are looked up when a request
    is signed, so missing ones show as SourceUnreadable of each listing (they may appear later)."""
    if opts.endpoint_url is not None:
        u = urlsplit(opts.endpoint_url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise S3ConfigError(f"--endpoint-url {opts.endpoint_url!r}: give http(s)://HOST[:PORT]")
    session = botocore.session.Session(profile=opts.profile)
    # LastModified is never used, and parsing its timestamps is ~85% of botocore's time per page.
    session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=str)

    def make(addressing: str):
        cfg = Config(connect_timeout=opts.connect_timeout_s, read_timeout=opts.read_timeout_s,
                     retries={"mode": "standard", "total_max_attempts": opts.attempts},
                     s3={"addressing_style": addressing}, user_agent_extra="solmeter-storage-agent")
        return session.create_client("s3", region_name=opts.region, endpoint_url=opts.endpoint_url, config=cfg)

    try:
        client = make("auto")
        # S3-compatible servers (MinIO, Ceph, R2...) are addressed by path, which all of them take; only AWS
        # gets botocore's choice. The endpoint may come from AWS_ENDPOINT_URL[_S3] or the profile.
        if not _is_aws(client.meta.endpoint_url):
            client = make("path")
    except ProfileNotFound:
        raise S3ConfigError(f"AWS profile {session.profile!r} (--profile or AWS_PROFILE): not in the shared "
                            "credentials or config file") from None
    except ValueError as e:  # botocore's "Invalid endpoint: ..."
        raise S3ConfigError(f"endpoint URL: {e}") from None
    return client


def _is_aws(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


class S3Listing:
    """A `StorageSource`: bytes and objects per storage class under s3://bucket/prefix."""

    reports_classes = True

    def __init__(self, location: S3Location, client):
        self.location, self.client = location, client
        self.label = str(location)

    def measure(self) -> dict[str, ClassTally]:
        sizes: dict[str, int] = {}
        counts: dict[str, int] = {}
        kw = {"Bucket": self.location.bucket, "MaxKeys": PAGE_KEYS}
        if self.location.prefix:
            kw["Prefix"] = self.location.prefix
        pages = objects = 0
        token = None
        while True:
            try:
                page = self.client.list_objects_v2(**kw)
            except (ClientError, BotoCoreError) as e:
                raise SourceUnreadable(self._partial(pages, objects) + self.explain(e)) from None
            pages += 1
            contents = page.get("Contents", ())
            for o in contents:
                c = o.get("StorageClass") or DEFAULT_CLASS
                sizes[c] = sizes.get(c, 0) + o["Size"]
                counts[c] = counts.get(c, 0) + 1
            objects += len(contents)
            if not page.get("IsTruncated"):
                break
            nxt = page.get("NextContinuationToken")
            if not nxt or nxt == token:  # a server that would make us loop, or stop early without saying
                raise SourceUnreadable(self._partial(pages, objects) + "the server said the listing goes on but "
                                       "gave no new continuation token")
            token = kw["ContinuationToken"] = nxt
        out = {DEFAULT_CLASS: ClassTally(0, 0)}
        for c, n in sizes.items():
            name = c.upper()
            if (why := class_problem(name)):
                raise SourceUnreadable(f"the server reports storage class {c!r}, which the meter cannot take: {why}")
            prev = out.get(name, ClassTally(0, 0))
            out[name] = ClassTally(prev.bytes + n, prev.objects + counts[c])
        return out

    @staticmethod
    def _partial(pages: int, objects: int) -> str:
        return f"listing failed after {pages} page(s) ({objects} objects), no sample: " if pages else ""

    def explain(self, e: Exception) -> str:
        """One line for an operator: what failed and, where it is clear, what to change."""
        endpoint = self.client.meta.endpoint_url
        if isinstance(e, ClientError):
            err = e.response.get("Error") or {}
            status = (e.response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            code = err.get("Code") or f"HTTP {status}"
            msg = " ".join(str(err.get("Message") or "").split())
            detail = f"{code}: {msg}" if msg else code
            if code == "NoSuchBucket":
                return f"no such bucket at {endpoint}"
            if code in DENIED or status == 403:
                return f"access denied ({detail}); check the credentials or --profile and the bucket policy"
            if code in WRONG_REGION or status == 301:
                return f"wrong region ({detail}); give the bucket's --region"
            return f"{detail} (HTTP {status})"
        if isinstance(e, NoCredentialsError):
            return ("no AWS credentials found (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared credentials "
                    "file, --profile or an instance role)")
        if isinstance(e, PartialCredentialsError):
            return f"incomplete AWS credentials: {e}"
        if isinstance(e, ReadTimeoutError):
            return f"endpoint {endpoint} did not answer in time (read timeout)"
        if isinstance(e, (EndpointConnectionError, BotoConnectionError, ConnectionClosedError)):
            return f"endpoint {endpoint} unreachable ({type(e).__name__})"
        return " ".join(str(e).split())
