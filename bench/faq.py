"""How fast FAQ search and ticket suggestions answer over 5,000 articles.

Writes generated Korean and English articles through the service (so they are rendered
and indexed as in production) into a fresh SQLite file, or a fresh PostgreSQL database
with --postgres, then times searches (short queries with particles and typos) and
suggestions for ticket-sized customer messages.

    .venv/bin/python bench/faq.py [--articles 5000] [--queries 300] [--postgres]
    .venv/bin/python bench/faq.py --quick [--postgres]    (40 articles, a few seconds)

The last line is machine-readable: search_p95_ms=... suggest_p95_ms=...
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.support import temporary_postgres_database  # noqa: E402
from helpdesk.db import make_engine  # noqa: E402
from helpdesk.faq import service  # noqa: E402
from helpdesk.faq.search import search_articles, suggest_articles  # noqa: E402
from helpdesk.models import metadata  # noqa: E402


def words(text: str) -> list[str]:
    return text.split()


KO_NOUNS = words(
    "환불 주문 배송 택배 결제 카드 쿠폰 할인 회원 탈퇴 비밀번호 이메일 주소 계정 상품 교환 반품 "
    "파손 영수증 세금계산서 구독 요금제 해지 인증 보안 앱 로그인 설정 언어 알림 포인트 적립금 "
    "예약 재고 사이즈 색상 포장 선물 기프트카드 고객센터 상담 전화 운영시간 해외 관세 통관 "
    "무료배송 배송비 배송지 주문내역 마이페이지 장바구니 위시리스트 리뷰 후기 사진 문의 답변 "
    "오류 업데이트 버전 안드로이드 아이폰 브라우저 쿠키 개인정보 약관 동의 뉴스레터 수신거부 "
    "학생 법인 사업자 대량구매 견적 입금 계좌이체 무통장 가상계좌 카카오페이 네이버페이 "
    "할부 취소 부분취소 재발송 누락 오배송 지연 출고 입고 품절 재입고 알림신청 보증 수리 "
    "설치 매뉴얼 사용법 호환 충전 배터리 케이블 어댑터 정품 인증서 시리얼 등록 이벤트 당첨"
)
KO_PARTICLES = ["", "", "은", "는", "이", "가", "을", "를", "에", "에서", "으로", "로", "도", "의"]
KO_ENDINGS = [
    "할 수 있습니다.",
    "하면 됩니다.",
    "해 주세요.",
    "되지 않습니다.",
    "확인하세요.",
    "가능합니다.",
    "안내해 드립니다.",
    "처리됩니다.",
]
EN_WORDS = words(
    "refund order shipping delivery parcel package tracking payment card coupon discount "
    "account password email address profile settings security login app update version "
    "subscription plan billing invoice receipt tax company business exchange return damaged "
    "broken missing item product size colour gift warranty repair battery charger cable "
    "install manual support phone hours international customs duties express standard free "
    "points loyalty student newsletter unsubscribe privacy data export delete close cancel "
    "renewal upgrade downgrade prorated checkout cart wishlist review photo question answer "
    "error problem issue problem slow fails declined blocked limit bank transfer paypal visa "
    "verify confirm link expire reset change edit open choose click press select download "
    "within days hours week month year business working next same before after until"
)
EN_FILLER = words("the a your you we our to of for in on with and or is are can will be it this")
KO_SYLLABLES = (
    "가나다라마바사아자차카타파하고노도로모보소오조초코토포호"
    "구누두루무부수우주추쿠투푸후기니디리미비시이지치키티피히"
)
EN_LETTERS = ("b", "c", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z")
EN_VOWELS = ("a", "e", "i", "o", "u")


class Vocabulary:
    """The domain words first, then generated product and feature names, drawn with
    Zipf frequencies (the n-th word about 1/n as often as the first) as real text is."""

    def __init__(self, common: list[str], rare: list[str], rng: random.Random):
        self.words = common + rare
        self.cumulative = list(accumulate(1 / (rank + 1) for rank in range(len(self.words))))
        self.rng = rng

    def pick(self) -> str:
        return self.rng.choices(self.words, cum_weights=self.cumulative)[0]


def korean_vocabulary(rng: random.Random, size: int = 3000) -> Vocabulary:
    rare = {"".join(rng.choices(KO_SYLLABLES, k=rng.randint(2, 4))) for _ in range(size)}
    return Vocabulary(KO_NOUNS, sorted(rare - set(KO_NOUNS)), rng)


def english_vocabulary(rng: random.Random, size: int = 3000) -> Vocabulary:
    def word():
        syllables = rng.randint(2, 4)
        return "".join(rng.choice(EN_LETTERS) + rng.choice(EN_VOWELS) for _ in range(syllables))

    rare = {word() for _ in range(size)}
    return Vocabulary(EN_WORDS, sorted(rare - set(EN_WORDS)), rng)


class Text:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.ko = korean_vocabulary(rng)
        self.en = english_vocabulary(rng)

    def korean_sentence(self) -> str:
        count = self.rng.randint(3, 6)
        words = [self.ko.pick() + self.rng.choice(KO_PARTICLES) for _ in range(count)]
        return " ".join(words) + " " + self.rng.choice(KO_ENDINGS)

    def english_sentence(self) -> str:
        words = []
        for _ in range(self.rng.randint(6, 12)):
            words.append(self.en.pick() if self.rng.random() < 0.6 else self.rng.choice(EN_FILLER))
        return " ".join(words).capitalize() + "."

    def article(self, language: str) -> service.ArticleData:
        rng = self.rng
        if language == "ko":
            title = " ".join(self.ko.pick() for _ in range(rng.randint(2, 4))) + " 안내"
            body = " ".join(self.korean_sentence() for _ in range(rng.randint(6, 14)))
        else:
            title = " ".join(self.en.pick() for _ in range(rng.randint(3, 6))).capitalize()
            body = " ".join(self.english_sentence() for _ in range(rng.randint(6, 14)))
        return service.ArticleData(title=title, body=body, language=language, status="published")

    def query(self) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            count = rng.randint(1, 3)
            words = [self.ko.pick() + rng.choice(KO_PARTICLES) for _ in range(count)]
            return " ".join(words) + rng.choice(["", " 어떻게 하나요", " 안 돼요"])
        words = [self.en.pick() for _ in range(rng.randint(1, 4))]
        if rng.random() < 0.3:
            words[0] = typo(words[0], rng)
        return " ".join(words)

    def ticket(self) -> str:
        if self.rng.random() < 0.5:
            count = self.rng.randint(3, 8)
            return "안녕하세요. " + " ".join(self.korean_sentence() for _ in range(count))
        count = self.rng.randint(3, 8)
        return "Hello, " + " ".join(self.english_sentence() for _ in range(count))


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


@contextmanager
def fresh_database(postgres: bool) -> Iterator[str]:
    if postgres:
        with temporary_postgres_database("faq_bench") as url:
            yield url
    else:
        with tempfile.TemporaryDirectory(prefix="faq-bench-") as folder:
            yield f"sqlite:///{folder}/faq.db"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgres", action="store_true", help="use PostgreSQL, not SQLite")
    parser.add_argument("--quick", action="store_true", help="40 articles, 20 queries")
    args = parser.parse_args()
    if args.quick:
        args.articles, args.queries = 40, 20
    generate = Text(random.Random(20240601))

    with fresh_database(args.postgres) as url:
        engine = make_engine(url)
        try:
            metadata.create_all(engine)
            with Session(engine, expire_on_commit=False) as session:
                started = time.perf_counter()
                for number in range(args.articles):
                    language = "ko" if number % 2 else "en"
                    service.create_article(session, generate.article(language), None)
                    if number % 250 == 249:
                        session.commit()
                session.commit()
                indexing = time.perf_counter() - started
                terms = session.scalar(text("SELECT count(*) FROM faq_search_terms"))
                print(
                    f"{engine.dialect.name}: indexed {args.articles} articles in {indexing:.1f} s "
                    f"({terms} index rows)"
                )
            # Planner statistics and a vacuumed visibility map, as autovacuum leaves a
            # long-running database (the bulk load just left a million fresh rows behind).
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(
                    text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
                )
            with Session(engine, expire_on_commit=False) as session:
                queries = [generate.query() for _ in range(args.queries)]
                tickets = [generate.ticket() for _ in range(args.queries)]
                for query in queries[:20]:  # warm the caches the way a running server has them
                    search_articles(session, query)
                search_ms, suggest_ms, found = [], [], 0
                for query in queries:
                    started = time.perf_counter()
                    hits = search_articles(session, query)
                    search_ms.append((time.perf_counter() - started) * 1000)
                    found += bool(hits)
                    session.rollback()
                for ticket in tickets:
                    started = time.perf_counter()
                    suggest_articles(session, ticket)
                    suggest_ms.append((time.perf_counter() - started) * 1000)
                    session.rollback()
        finally:
            engine.dispose()

    print(
        f"search:  p50={statistics.median(search_ms):.1f} ms  p95={percentile(search_ms, 0.95):.1f}"
        f" ms  max={max(search_ms):.1f} ms  ({found}/{len(queries)} queries with results)"
    )
    print(
        f"suggest: p50={statistics.median(suggest_ms):.1f} ms  "
        f"p95={percentile(suggest_ms, 0.95):.1f} ms  max={max(suggest_ms):.1f} ms"
    )
    print(
        f"search_p95_ms={percentile(search_ms, 0.95):.1f} "
        f"suggest_p95_ms={percentile(suggest_ms, 0.95):.1f}"
    )


if __name__ == "__main__":
    main()
