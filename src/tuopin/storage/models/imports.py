"""Files uploaded for import through the web, checked in the background, kept until used."""

from __future__ import annotations

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tuopin.storage.models.base import Base


class ImportUploadRecord(Base):
    """One upload: whose it is, what it is, how far its check (or import) has got, and what
    it found. Its validated rows live in ``data_dir/uploads/<id>/`` until it is imported,
    cancelled or expires."""

    __tablename__ = "import_upload"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # random, in URLs
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True,
                                                default=None)
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    encoding: Mapped[str | None] = mapped_column(String(32), default=None)
    sheet: Mapped[str | None] = mapped_column(String(64), default=None)
    state: Mapped[str] = mapped_column(String(16), index=True)  # UploadState
    stage: Mapped[str] = mapped_column(String(16), default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[str | None] = mapped_column(Text, default=None)  # JSON: counts, error
    created_at: Mapped[float] = mapped_column(Float)  # seconds since the epoch
    updated_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float, index=True)
