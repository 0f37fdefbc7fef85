"""What mail systems write when they send no standard report: failure, delay and receipt
wording in the languages bounces arrive in, status codes in prose, and the addresses named.

Only read for mail that comes from a mail system (see origin.py), and only its explanation
(the text before the returned message), so a customer's words never make a bounce. Every
pattern is an alternation of literals or a single bounded class: linear in the text. The
wording patterns are lower-case and run on lower-cased text: IGNORECASE over alternations
with non-ASCII literals costs the regex engine five times as much."""

from __future__ import annotations

import re

EXPLANATION_LIMIT = 16 * 1024

_FAILURE = re.compile(
    "|".join(
        [
            # English
            r"could ?n[o']t be delivered|could not deliver|unable to deliver|undeliverable"
            r"|undelivered|not (?:been )?delivered|wasn't delivered|was not delivered"
            r"|delivery (?:has )?failed|delivery to the following recipients? failed"
            r"|failed permanently|permanent (?:error|failure|fatal)|fatal (?:delivery )?errors?"
            r"|user unknown|unknown user|no such (?:user|mailbox|address)|not listed in"
            r"|mailbox (?:unavailable|not found|does not exist|(?:is )?full"
            r"|is (?:inactive|disabled))|does not exist|doesn't have a [\w.]{1,40} account"
            r"|address (?:not found|couldn't be found)"
            r"|returned mail|delivery failure|failure notice|did not reach|has been blocked"
            r"|was blocked|blocked by|message blocked|invalid (?:mailbox|recipient|address)"
            r"|recipient address rejected|host unknown|domain name not found|no route"
            r"|relay access denied|the following addresses? (?:failed|had permanent)"
            r"|not accepted|was rejected|rejected (?:by|due|because)|unrouteable",
            # German, French, Dutch, Spanish, Portuguese, Italian, Polish, Russian
            r"unzustellbar|nicht zugestellt|konnte nicht (?:zugestellt|übermittelt)"
            r"|fehler bei der zustellung|zustellung an folgende empfänger|fehlgeschlagen"
            r"|postfach unbekannt|non remis|pas (?:pu )?être remis|n'a pas été remis"
            r"|échec de la remise|a échoué|introuvable|destinataire inconnu|onbestelbaar"
            r"|bezorging is mislukt|(?:podido|pudo) (?:ser )?entregar"
            r"|no entregado|não foi possível entregar|não entregue|non è stato recapitato"
            r"|non recapitato|nie udało się dostarczyć|niedostarczon|не было доставлено"
            r"|не удалось доставить|недоставленн|не доставлен",
            # Chinese, Japanese, Korean
            r"退信|没有发送成功|无法送达|发送失败|配信できません|配送できません|配信不能"
            r"|配送不能|配信に失敗|配信されませんでした|配信が失敗|配送に失敗|宛先不明"
            r"|存在しません|見つかりません|受信が拒否|受信を拒否|配送失敗|配信エラー"
            r"|반송|전송되지 못|전송하지 못|발송 실패|전송 실패|배달되지 못|배달하지 못"
            r"|배달 실패|전달할 수 없|전달하지 못|존재하지 않|찾을 수 없|수신 차단|차단되었",
        ]
    ),
)
_DELAY = re.compile(
    r"delayed|not yet been delivered|still (?:being )?retried"
    r"|will be retried|keep trying|continue to (?:try|attempt)|will continue|still trying"
    r"|warning message only|warning only|do not need to (?:re-?send|take any action)"
    r"|delivery incomplete|temporar(?:y|ily) (?:problem|deferred|failure)|deferred"
    r"|verzögert|weiterhin versucht|weiterhin, die nachricht|différée|continuer d'essayer"
    r"|retardad|atrasad|ritardat|vertraagd|opóźnion|ponowione|задерж"
    r"|延迟|遅延|遅れて|試みます|試みています|지연|재전송|재시도",
)
_RECEIPT = re.compile(
    r"successfully (?:delivered|relayed)|has been delivered to"
    r"|delivery (?:to .{1,200} )?is complete|successful (?:mail )?delivery"
    r"|wurde an (?:die )?folgenden? empfänger übermittelt"
    r"|a été remis aux destinataires",
)
# Wording that makes a failure temporary when neither a status nor a reply code says.
_SOFT = re.compile(
    r"mailbox (?:is )?full|inbox (?:is )?full|over ?quota|quota (?:exceeded|has been exceeded)"
    r"|exceed(?:ed|s)? (?:the |its |allowed )?(?:\w+ )?(?:limit|quota|size)"
    r"|out of storage|insufficient storage|temporar(?:y|ily)|try again later|retry timeout"
    r"|in the queue too long|timed? ?out|postfach (?:ist )?voll|vorübergehend"
    r"|boîte aux lettres pleine|temporaire|caixa postal cheia|tente novamente|buzón lleno"
    r"|casella piena|przepełnion|переполнен|空间已满|容量|いっぱい|一時的|용량|가득|일시적",
)
# An enhanced status code (RFC 3463) where prose writes one: after a reply code, '#', a
# label's colon or an opening bracket. Elsewhere "4.9.2" is a version number. The code is
# found first and what precedes it checked after: a leading alternation would be tried at
# every position of the text.
_STATUS_CODE = re.compile(r"(?<![\w.])([245])\.([0-7])\.(\d{1,3})\b")
_BEFORE_STATUS = re.compile(r"(?:\b[245]\d\d[ -]|#|\bstatus(?: code)? ?|[:(\[] ?)\Z", re.IGNORECASE)
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
# A reply code where a transcript or a diagnostic writes one.
_REPLY = re.compile(r"(?<![\w.#-])([45])\d\d(?=[ \-.]|$)", re.MULTILINE)
_BEFORE_REPLY = re.compile(
    r"(?:said:|returned '|returned: |error:|reply:|response:|was:|said |<<< |\]: |[(;:] ?)"
    r"[ \t]*\Z",
    re.IGNORECASE,
)
_CONTEXT = 16
# Where the returned message starts in a text-only bounce.
_ORIGINAL_STARTS = re.compile(
    r"^[ \t]*(?:-{2,}+[^\n]{0,40}?(?:original message|copy of the message|unsent message"
    r"|returned message|returned mail|message follows|below this line|headers? follow"
    r"|送信されたメール|元のメッセージ|원본 메시지)"
    r"|original message (?:follows|headers)|message headers follow|included is a copy"
    r"|below is a copy of the original|original message details|ursprüngliche nachricht"
    r"|en-têtes de message d'origine|return-path:|received: from )",
    re.IGNORECASE | re.MULTILINE,
)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9.!#$%&'*+/=?^_`{|}~-])[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+"
)
# Lines that name the sender or the message, not a recipient.
_NOT_RECIPIENT_LINE = re.compile(
    r"^\s*(?:sender(?: address)?|from|reply-to|return-path|x-postfix-sender|message-id"
    r"|in-reply-to|references|absenderadresse|adresse de l'expéditeur)\s*:",
    re.IGNORECASE,
)
DAEMON_LOCAL_PART = re.compile(
    r"^(?:mailer[-_.]?daemon|mail[-_.]?daemon|postmaster|mdaemon|double-bounce|abuse"
    r"|microsoftexchange[0-9a-f]{32}|mail[-_.]?delivery(?:[-_.]?(?:sub)?system)?)$",
    re.IGNORECASE,
)
_CHALLENGE = re.compile(
    r"(?:confirm|verify|prove)\w{0,3} (?:that )?(?:you are|you're) (?:a )?(?:human|real person)"
    r"|to (?:release|deliver) your message|before your message can be delivered"
    r"|(?:is|has been) (?:being )?held|is waiting for (?:approval|verification)"
    r"|approved senders? list|guest list|whitelist|requires verification"
    r"|발신자 인증|送信者(?:認証|確認)",
)


def explanation(text: str) -> str:
    """The report's own words: up to the returned message, bounded."""
    text = text[:EXPLANATION_LIMIT]
    found = _ORIGINAL_STARTS.search(text)
    return text[: found.start()] if found else text


def says_failure(text: str) -> bool:
    return _FAILURE.search(text.lower()) is not None


def says_delay(text: str) -> bool:
    return _DELAY.search(text.lower()) is not None


def says_receipt(text: str) -> bool:
    return _RECEIPT.search(text.lower()) is not None


def says_soft(text: str) -> bool:
    return _SOFT.search(text.lower()) is not None


def says_challenge(text: str) -> bool:
    return _CHALLENGE.search(text.lower()) is not None


def status_in_text(text: str) -> str | None:
    for found in _STATUS_CODE.finditer(text):
        if _BEFORE_STATUS.search(text, max(0, found.start() - _CONTEXT), found.start()):
            return ".".join(found.groups())
    return None


def status_in_field(value: str | None) -> str | None:
    found = _STATUS.search(value or "")
    return ".".join(found.groups()) if found else None


def reply_code_class(text: str) -> str | None:
    """'5' or '4' from the first SMTP reply code in a diagnostic, None when there is none."""
    for found in _REPLY.finditer(text):
        line = text[text.rfind("\n", 0, found.start()) + 1 : found.start()]
        if not line.strip(" \t") or _BEFORE_REPLY.search(line[-_CONTEXT:]):
            return found.group(1)
    return None


def is_hard(status: str | None, diagnostic: str, *, delayed: bool = False) -> bool:
    """A permanent failure: by the status class, else a delay says temporary, else the
    reply code, else the wording; a failure that says nothing either way is permanent."""
    if status is not None:
        return status.startswith("5")
    if delayed:
        return False
    code = reply_code_class(diagnostic)
    if code is not None:
        return code == "5"
    return not says_soft(diagnostic)


def addresses(text: str, excluded: set[str]) -> list[str]:
    """Addresses named in the text, in order, without the excluded ones (lower-cased) and
    without those on lines that name a sender or a message."""
    found: list[str] = []
    seen = set(excluded)
    for line in text.splitlines():
        if "@" not in line or _NOT_RECIPIENT_LINE.match(line):
            continue
        for address in _EMAIL.findall(line):
            address = address.strip(".")
            key = address.lower()
            if key in seen or DAEMON_LOCAL_PART.match(key.rpartition("@")[0]):
                continue
            seen.add(key)
            found.append(address)
    return found


def first_address(value: str | None) -> str | None:
    found = _EMAIL.search(value or "")
    return found.group(0) if found else None


def diagnostic_line(text: str) -> str:
    """The first line that carries a status or a reply code, for the record."""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and (status_in_text(stripped) or reply_code_class(stripped)):
            return stripped[:1000]
    return ""
