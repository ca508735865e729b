"""pyHanko's signer with the signing time given and the metadata kept by later revisions."""

from __future__ import annotations

import datetime as dt
from typing import IO, Any

from pyhanko.pdf_utils import misc
from pyhanko.sign.signers import PdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfSigningSession

from signing.pades.evidence import append_evidence


class ClockedPdfSigner(PdfSigner):
    """A PdfSigner whose signing time is given and whose later revisions keep the metadata.

    pyHanko takes the claimed signing time (``/M``) and the stamp's time from the
    signing session; setting it here keeps both equal to the injected time. The
    DSS and document timestamp revisions (B-LT, B-LTA) are written like the
    signature's, leaving Info and XMP as they are.
    """

    def __init__(self, *args: Any, signing_time: dt.datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._signing_time = signing_time

    def init_signing_session(
        self, pdf_out: Any, existing_fields_only: bool = False
    ) -> PdfSigningSession:
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._signing_time
        return session

    async def async_sign_pdf(
        self,
        pdf_out: Any,
        existing_fields_only: bool = False,
        bytes_reserved: int | None = None,
        *,
        appearance_text_params: dict[str, str] | None = None,
        in_place: bool = False,
        output: IO[bytes] | None = None,
        chunk_size: int = misc.DEFAULT_CHUNK_SIZE,
    ) -> IO[bytes]:
        """Sign as pyHanko does, but append the B-LT and B-LTA revisions with metadata left alone.

        The steps are pyHanko's interrupted-signing ones; only the last, the
        post-signing DSS and document timestamp, is :func:`append_evidence`.
        """
        session = self.init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        validation_info = await session.perform_presign_validation(pdf_out)
        if bytes_reserved is None:
            bytes_reserved = await session.estimate_signature_container_size(
                validation_info, tight=self.signature_meta.tight_size_estimates
            )
        tbs_document = session.prepare_tbs_document(
            validation_info=validation_info,
            bytes_reserved=bytes_reserved,
            appearance_text_params=appearance_text_params,
        )
        digest, res_output = tbs_document.digest_tbs_document(
            in_place=in_place, chunk_size=chunk_size, output=output
        )
        signed = await tbs_document.perform_signature(
            document_digest=digest.document_digest,
            pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                signing_time=session.system_time,
                adobe_revinfo_attr=(
                    None if validation_info is None else validation_info.adobe_revinfo_attr
                ),
                cades_signed_attrs=self.signature_meta.cades_signed_attr_spec,
            ),
        )
        await append_evidence(res_output, signed)
        result: IO[bytes] = misc.finalise_output(output, res_output)  # type: ignore[no-untyped-call]
        return result
