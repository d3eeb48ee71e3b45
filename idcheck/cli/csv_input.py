"""Reading customer CSV files as people really have them, one row at a time.

Separators `;`, `,` or tab, sniffed from the header line; UTF-8 with or without BOM, or cp1252
(what Excel writes in France); French and English headers recognised without a mapping.
"""

import codecs
import csv
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import BinaryIO
from typing import Final

from idcheck.cli.errors import CliError
from signatures import FIELDS
from signatures.text import fold_words

_SNIFF_BYTES: Final = 64 * 1024
_SEPARATORS: Final = (";", ",", "\t")
FIELD_LIMIT: Final = 64 * 1024  # characters in one cell: more is not a contact field
MAX_LINE_BYTES: Final = 1024 * 1024  # one physical line; a file without line breaks stops here

# Folded header (letters and digits, case and accents dropped) -> field.
HEADERS: Final[dict[str, str]] = {
    header: name
    for name, headers in {
        "email": (
            "email", "mail", "courriel", "emailaddress", "adressemail", "adresseemail",
            "adressecourriel", "adressedecourriel", "adresseelectronique", "mailaddress",
        ),
        "phone": (
            "phone", "telephone", "tel", "portable", "mobile", "mobilephone", "phonenumber",
            "numerodetelephone", "ndetelephone", "notelephone", "telephoneportable", "gsm",
            "cellphone", "telmobile",
        ),
        "first_name": ("prenom", "prenoms", "firstname", "givenname", "forename"),
        "last_name": ("nom", "nomdefamille", "nomdusage", "lastname", "surname", "familyname"),
        "street": (
            "adresse", "adresse1", "adressepostale", "ligneadresse1", "rue", "voie",
            "address", "address1", "addressline1", "street", "streetaddress",
        ),
        "postcode": ("codepostal", "cp", "postcode", "postalcode", "zip", "zipcode"),
        "country": ("pays", "codepays", "country", "countrycode"),
        "birth_date": (
            "datedenaissance", "datenaissance", "naissance", "birthdate", "dateofbirth",
            "dob", "birthday",
        ),
    }.items()
    for header in headers
}  # fmt: skip


#: Folded headers of the column saying when each record was last updated (used when
#: --updated-column does not name one).
UPDATED_HEADERS: Final = frozenset(
    {
        "datedemiseajour", "datemiseajour", "datedemaj", "datemaj", "maj", "misajourle",
        "dernieremiseajour", "datedernieremiseajour", "datedemodification",
        "datedernieremodification", "modifiele", "derniereactivite", "datedederniereactivite",
        "updated", "updatedat", "updatedon", "lastupdated", "lastupdate", "dateupdated",
        "lastmodified", "modifiedat", "modified", "lastactivity",
    }
)  # fmt: skip


def fold_header(header: str) -> str:
    return "".join(fold_words(header, keep_digits=True))


@dataclass
class Columns:
    """Which column index holds each field, the record id and the update date."""

    fields: dict[str, int]
    external_id: int | None = None
    updated_at: int | None = None
    names: list[str] = field(default_factory=list)

    def describe(self) -> str:
        found = [f"{name}={self.names[index]!r}" for name, index in self.fields.items()]
        if self.updated_at is not None:
            found.append(f"updated_at={self.names[self.updated_at]!r}")
        return ", ".join(found)


def map_columns(
    header: list[str],
    overrides: Mapping[str, str],
    *,
    id_column: str | None = None,
    updated_column: str | None = None,
) -> Columns:
    """Recognise the header's columns; ``overrides`` (field -> column name) win over guesses."""

    def find(column: str, option: str) -> int:
        names = [name.strip() for name in header]
        folded = [name.casefold() for name in names]
        wanted = column.strip()
        if wanted in names:
            return names.index(wanted)
        if wanted.casefold() in folded:
            return folded.index(wanted.casefold())
        shown = ", ".join(repr(name) for name in header)
        raise CliError(f"{option}: no column {column!r} in the header (columns: {shown})")

    fields: dict[str, int] = {}
    for name, column in overrides.items():
        if name not in FIELDS:
            raise CliError(f"--map {name}={column}: unknown field (fields: {', '.join(FIELDS)})")
        fields[name] = find(column, f"--map {name}={column}")
    columns = Columns(
        fields={},
        external_id=find(id_column, "--id-column") if id_column is not None else None,
        updated_at=find(updated_column, "--updated-column") if updated_column else None,
        names=header,
    )
    if columns.updated_at is None:
        columns.updated_at = _updated_column(header, {columns.external_id, *fields.values()})
    taken = set(fields.values()) | {columns.external_id, columns.updated_at}
    guessed: dict[str, int] = {}
    for index, name in enumerate(header):
        guess = HEADERS.get(fold_header(name))
        if guess is None or guess in fields or index in taken:
            continue
        if guess in guessed:
            first = header[guessed[guess]]
            raise CliError(
                f"columns {first!r} and {name!r} both look like {guess}: "
                f"choose one with --map {guess}=COLUMN"
            )
        guessed[guess] = index
    columns.fields = {name: (fields | guessed)[name] for name in FIELDS if name in fields | guessed}
    if not columns.fields:
        shown = ", ".join(repr(name) for name in header)
        raise CliError(f"no column recognised in the header ({shown}): use --map field=COLUMN")
    return columns


def _updated_column(header: list[str], taken: set[int | None]) -> int | None:
    """The one column whose header says "last updated" (UPDATED_HEADERS), if there is one."""
    found = [
        index
        for index, name in enumerate(header)
        if index not in taken and fold_header(name) in UPDATED_HEADERS
    ]
    if len(found) > 1:
        names = " and ".join(repr(header[index]) for index in found)
        raise CliError(f"columns {names} both look like the update date: choose one with "
                       "--updated-column COLUMN")  # fmt: skip
    return found[0] if found else None


class CsvFile:
    """An open CSV file: its header, its rows, and how far reading has got in bytes.

    Lines are decoded one at a time, so that an undecodable byte is reported at its own line.
    """

    def __init__(self, path: Path, raw: BinaryIO) -> None:
        self.path = path
        self.size = path.stat().st_size
        self._raw = raw
        self._line = 0
        head = raw.read(_SNIFF_BYTES)
        if not head.strip():
            raise CliError(f"{path}: empty file: the first line must name the columns")
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
            raise CliError(
                f"{path}: unreadable encoding (UTF-16 or binary): save it as CSV UTF-8 or CSV (;)"
            )
        bom = head.startswith(codecs.BOM_UTF8)
        self.bom = bom
        self.encoding = "utf-8" if _looks_utf8(head) else "cp1252"
        self.label = "UTF-8 with BOM" if bom else self.encoding
        raw.seek(len(codecs.BOM_UTF8) if bom else 0)
        first_line = head.split(b"\n", 1)[0].decode(self.encoding, errors="replace")
        self.separator = max(_SEPARATORS, key=first_line.count)
        csv.field_size_limit(FIELD_LIMIT)
        self._reader = csv.reader(self._lines(), delimiter=self.separator)
        self.header = self._next() or []
        if not any(name.strip() for name in self.header):
            raise CliError(f"{path}: empty header: the first line must name the columns")

    def _lines(self) -> Iterator[str]:
        while chunk := self._raw.readline(MAX_LINE_BYTES + 1):
            self._line += 1
            if len(chunk) > MAX_LINE_BYTES:
                raise CliError(
                    f"{self.path}: line {self._line}: longer than {MAX_LINE_BYTES:,} bytes"
                )
            try:
                yield chunk.decode(self.encoding)
            except UnicodeDecodeError:
                raise CliError(
                    f"{self.path}: line {self._line}: bytes that are not {self.encoding}"
                ) from None

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise CliError(f"{self.path}: line {self._line}: {exc}") from None

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells) for each non-blank row; a ragged row is an error naming its line."""
        width = len(self.header)
        while (row := self._next()) is not None:
            if not row:
                continue
            if len(row) != width:
                raise CliError(
                    f"{self.path}: line {self._line}: {len(row)} fields "
                    f"where the header has {width}"
                )
            yield self._line, row

    def bytes_read(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


def open_csv(path: Path) -> CsvFile:
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise CliError(f"{path}: {exc.strerror}") from None
    try:
        return CsvFile(path, raw)
    except BaseException:
        raw.close()
        raise


def _looks_utf8(head: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head, final=False)  # a character cut at the sniffing limit is fine
    except UnicodeDecodeError:
        return False
    return True
