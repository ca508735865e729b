"""PDF/A-2b graphics clauses (ISO 19005-2 6.2): colour, graphics state, XObjects and fonts."""

from __future__ import annotations

from abc import ABC, abstractmethod

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, StreamObject

from core.pdfa.metadata import PDFA2
from core.pdfa.objects import as_dict, is_true, pdf_names, resolve

__all__ = ["GraphicsChecks"]

_BLEND_MODES = pdf_names(
    "Normal Compatible Multiply Screen Overlay Darken Lighten ColorDodge ColorBurn HardLight "
    "SoftLight Difference Exclusion Hue Saturation Color Luminosity"
)
_INTENTS = pdf_names("RelativeColorimetric AbsoluteColorimetric Perceptual Saturation")

_ICC_SPACES = {b"GRAY": (1, "GRAY"), b"RGB ": (3, "RGB"), b"CMYK": (4, "CMYK")}
"""ICC colour space signatures of an output profile: components and our short name."""

_DEVICE_SPACES = {"/DeviceRGB": "RGB", "/DeviceCMYK": "CMYK", "/DeviceGray": "GRAY"}


class GraphicsChecks(ABC):
    """The checks of clause 6.2 of one run over one file, for a checker to inherit."""

    output_space: str | None
    """Colour space of the PDF/A OutputIntent's ICC profile, once found valid."""

    @abstractmethod
    def add(self, clause: str, message: str) -> None:
        """Record a violation of ``clause`` (once)."""

    def check_output_intents(self, catalog: DictionaryObject) -> None:
        intents = resolve(catalog.get("/OutputIntents"))
        profiles: list[object] = []
        for item in intents if isinstance(intents, ArrayObject) else []:
            intent = as_dict(item)
            if intent is None:
                continue
            if "/DestOutputProfileRef" in intent:
                self.add(f"{PDFA2} 6.2.3", "an OutputIntent uses DestOutputProfileRef")
            raw = intent.get("/DestOutputProfile")
            if raw is not None:
                profiles.append(raw.idnum if isinstance(raw, IndirectObject) else id(raw))
            if intent.get("/S") == "/GTS_PDFA1":
                profile = resolve(raw)
                if not isinstance(profile, StreamObject):
                    self.add(f"{PDFA2} 6.2.3", "the PDF/A OutputIntent has no ICC profile")
                else:
                    self.check_icc(profile)
        if len(set(profiles)) > 1:
            self.add(f"{PDFA2} 6.2.3", "OutputIntents carry different destination profiles")
        if self.output_space is None:
            self.add(
                f"{PDFA2} 6.2.4.3",
                "no GTS_PDFA1 OutputIntent with a valid profile, so device colour "
                "(DeviceGray/DeviceRGB scans and text) is not allowed",
            )

    def check_icc(self, profile: StreamObject) -> None:
        icc = profile.get_data()
        space = _ICC_SPACES.get(icc[16:20]) if len(icc) >= 128 else None
        if len(icc) < 128 or icc[36:40] != b"acsp":
            self.add(f"{PDFA2} 6.2.3", "the OutputIntent profile is not an ICC profile")
        elif icc[12:16] not in (b"prtr", b"mntr") or space is None or icc[8] >= 5:
            self.add(
                f"{PDFA2} 6.2.3",
                "the OutputIntent profile must be an ICC v2-v4 output or monitor profile "
                "in GRAY, RGB or CMYK",
            )
        elif profile.get("/N") != space[0]:
            self.add(
                f"{PDFA2} 6.2.3",
                f"the OutputIntent profile is {space[1]} but its /N is {profile.get('/N')}",
            )
        else:
            self.output_space = space[1]

    def check_device_space(self, value: object, where: str) -> None:
        space = resolve(value)
        if isinstance(space, ArrayObject) and len(space) > 1 and space[0] == "/Indexed":
            space = resolve(space[1])
        needed = _DEVICE_SPACES.get(str(space)) if isinstance(space, str) else None
        if needed is None or self.output_space is None:
            return  # ICC-based or special colour, or already reported: no OutputIntent
        if needed != "GRAY" and needed != self.output_space:
            self.add(
                f"{PDFA2} 6.2.4.3",
                f"{where} uses {space} but the PDF/A OutputIntent is {self.output_space}",
            )

    def check_ext_gstates(self, states: DictionaryObject) -> None:
        """Check the graphics states of a resource dictionary's ``/ExtGState``."""
        for state in states.values():
            resolved = as_dict(state)
            if resolved is not None:
                self.check_ext_gstate(resolved)

    def check_ext_gstate(self, state: DictionaryObject) -> None:
        if "/TR" in state:
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a transfer function (/TR)")
        if "/TR2" in state and state.get("/TR2") != "/Default":
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a transfer function (/TR2)")
        if "/HTP" in state:
            self.add(f"{PDFA2} 6.2.5", "a graphics state has a halftone phase (/HTP)")
        halftone = as_dict(state.get("/HT"))
        if halftone is not None and (
            halftone.get("/HalftoneType") not in (1, 5) or "/HalftoneName" in halftone
        ):
            self.add(f"{PDFA2} 6.2.5", "a halftone is not of type 1 or 5, or is named")
        modes = resolve(state.get("/BM"))
        for mode in modes if isinstance(modes, ArrayObject) else [modes]:
            if mode is not None and resolve(mode) not in _BLEND_MODES:
                self.add(f"{PDFA2} 6.2.10", f"a graphics state uses the blend mode {mode}")
        if "/RI" in state and state.get("/RI") not in _INTENTS:
            self.add(f"{PDFA2} 6.2.6", f"a graphics state uses the rendering intent {state['/RI']}")

    def check_image(self, image: StreamObject) -> None:
        if "/Alternates" in image:
            self.add(f"{PDFA2} 6.2.8.1", "an image has alternates (/Alternates)")
        if "/OPI" in image:
            self.add(f"{PDFA2} 6.2.8.1", "an image has OPI information")
        if is_true(image.get("/Interpolate")):
            self.add(f"{PDFA2} 6.2.8.1", "an image asks for interpolation")
        if "/Intent" in image and image.get("/Intent") not in _INTENTS:
            self.add(f"{PDFA2} 6.2.6", f"an image uses the rendering intent {image['/Intent']}")
        self.check_device_space(image.get("/ColorSpace"), "an image")

    def check_form(self, form: StreamObject) -> None:
        if "/OPI" in form or "/PS" in form or form.get("/Subtype2") == "/PS":
            self.add(f"{PDFA2} 6.2.9.1", "a form XObject carries PostScript or OPI")
        if "/Ref" in form:
            self.add(f"{PDFA2} 6.2.9.2", "a reference XObject is used")

    def check_group(self, group: DictionaryObject, where: str) -> None:
        if group.get("/S") != "/Transparency":
            return
        if "/CS" in group:
            self.check_device_space(group.get("/CS"), f"the transparency group of {where}")
        elif self.output_space is None and where.startswith("page"):
            self.add(
                f"{PDFA2} 6.2.10",
                f"{where} has a transparency group without a blending colour space "
                "and the file has no OutputIntent",
            )

    def check_fonts(self, fonts: DictionaryObject) -> None:
        for name, value in fonts.items():
            font = as_dict(value)
            if font is None:
                continue
            if font.get("/Type") != "/Font":
                self.add(f"{PDFA2} 6.2.11.2", f"font {name} is not typed /Font")
            subtype = font.get("/Subtype")
            if subtype == "/Type3":
                continue  # glyphs are content streams, nothing to embed
            descendants = resolve(font.get("/DescendantFonts"))
            targets = (
                [as_dict(d) for d in descendants]
                if subtype == "/Type0" and isinstance(descendants, ArrayObject)
                else [font]
            )
            for target in targets:
                descriptor = as_dict(target.get("/FontDescriptor")) if target else None
                embedded = descriptor is not None and any(
                    key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
                )
                if not embedded:
                    base = (target or font).get("/BaseFont", name)
                    self.add(f"{PDFA2} 6.2.11.4.1", f"font {base} is not embedded")
