"""A small shop's FAQ in Korean and English, and questions customers ask about it.

QUESTIONS pair what a customer types (paraphrased, with particles glued on, with typos)
with the key of the article that answers it.
"""

ENGLISH = {
    "refund": (
        "How to request a refund",
        "You can get your money back within 30 days of purchase. Open **Orders**, choose the "
        "order and click *Request refund*. Refunds are paid to the original payment method "
        "within 5 business days.",
    ),
    "cancel-order": (
        "Cancel an order before it ships",
        "Orders can be cancelled until they are packed. Go to Orders and press Cancel order. "
        "If the parcel has already shipped, return it instead.",
    ),
    "shipping": (
        "Shipping times and costs",
        "Standard delivery takes 2-4 business days. Shipping is free for orders over 50,000 "
        "won; below that it costs 3,000 won. Express delivery arrives the next day for an "
        "extra fee.",
    ),
    "tracking": (
        "Track your parcel",
        "Once your order ships we email you a tracking number. Follow the tracking link to "
        "see where your package is and when the courier will deliver it.",
    ),
    "password": (
        "Reset your password",
        "Forgot your password? Click *Forgot password* on the login page and we email you a "
        "reset link. The link is valid for one hour.",
    ),
    "email-change": (
        "Change the email address of your account",
        "Open Account settings > Profile and enter a new email address. We send a "
        "confirmation link to the new address; the change applies once you click it.",
    ),
    "delete-account": (
        "Delete your account",
        "You can close your account permanently in Account settings > Privacy. Deleting it "
        "removes your personal data and cannot be undone.",
    ),
    "payment-methods": (
        "Payment methods we accept",
        "We accept Visa, Mastercard, American Express, PayPal, bank transfer and KakaoPay.",
    ),
    "invoice": (
        "Download an invoice or receipt",
        "Every order has an invoice you can download as a PDF under Orders > Invoice. "
        "Businesses can add their company name and VAT number before downloading.",
    ),
    "damaged": (
        "Return a damaged item",
        "If your item arrived broken or damaged, send us a photo within 7 days. We replace "
        "it or refund it at no cost to you.",
    ),
    "exchange": (
        "Exchange an item for a different size",
        "To swap an item for another size or colour, open the order and choose Exchange. "
        "You pay the shipping for the exchange.",
    ),
    "coupon": (
        "Use a discount code",
        "Enter your coupon or promo code at checkout in the Discount code field. Only one "
        "code can be used per order.",
    ),
    "plan-change": (
        "Change your subscription plan",
        "Upgrade or downgrade your plan at any time under Billing. The price difference is "
        "prorated to the day.",
    ),
    "cancel-subscription": (
        "Cancel your subscription",
        "Stop the automatic renewal under Billing > Cancel subscription. You keep access "
        "until the end of the period you paid for.",
    ),
    "two-factor": (
        "Turn on two-factor authentication",
        "Protect your login with a one-time code from an authenticator app. Turn it on in "
        "Security settings and scan the QR code.",
    ),
    "address-change": (
        "Update the shipping address of an order",
        "Before an order ships you can change its delivery address under Orders > Edit address.",
    ),
    "international": (
        "International shipping",
        "We deliver to 40 countries abroad. Customs duties and import taxes are paid by the "
        "recipient on delivery.",
    ),
    "gift-card": (
        "Gift cards",
        "Gift cards can be bought in amounts from 10,000 to 500,000 won and never expire. "
        "Redeem one at checkout like a coupon.",
    ),
    "warranty": (
        "Product warranty",
        "All electronics come with a one-year warranty that covers manufacturing defects. "
        "We repair or replace a faulty product free of charge.",
    ),
    "support-hours": (
        "Customer support opening hours",
        "Our support team answers by email and phone Monday to Friday, 9am to 6pm Korean time.",
    ),
    "newsletter": (
        "Unsubscribe from the newsletter",
        "To stop receiving marketing emails, click Unsubscribe at the bottom of any "
        "newsletter we send.",
    ),
    "missing-item": (
        "An item is missing from my package",
        "If something is missing from your parcel, check whether the order was split into "
        "several shipments. If not, tell us and we send the missing item.",
    ),
    "payment-declined": (
        "My card payment was declined",
        "If your card payment failed, check the card number, expiry date and limit. Your "
        "bank may also block online payments; call them to allow it.",
    ),
    "order-history": (
        "See your order history",
        "All your past purchases are listed under Orders, newest first, with their status.",
    ),
    "language": (
        "Change the language of the app",
        "Switch between Korean and English in Settings > Language.",
    ),
    "data-export": (
        "Export your personal data",
        "Download a copy of your personal data as a ZIP archive from Account settings > Privacy.",
    ),
    "app-login": (
        "Cannot sign in on the mobile app",
        "If you cannot sign in on the iPhone or Android app, update the app to the latest "
        "version and check that your phone's clock is correct.",
    ),
    "preorder": (
        "Pre-order items",
        "Pre-ordered products are charged when they ship, not when you order them.",
    ),
    "points": (
        "Loyalty points",
        "Earn 1 point for every 1,000 won you spend. Points can be used at checkout.",
    ),
    "student": (
        "Student discount",
        "Students get 15% off with a verified university email address.",
    ),
}

KOREAN = {
    "환불": (
        "환불 신청 방법",
        "구매 후 30일 이내에 환불을 받을 수 있습니다. 주문 내역에서 주문을 선택하고 환불 신청 "
        "버튼을 누르세요. 환불 금액은 결제하신 수단으로 영업일 기준 5일 이내에 돌려드립니다.",
    ),
    "주문취소": (
        "주문 취소하기",
        "상품이 포장되기 전까지 주문을 취소할 수 있습니다. 주문 내역에서 주문 취소를 누르세요. "
        "이미 발송된 경우에는 반품을 신청해 주세요.",
    ),
    "배송비": (
        "배송 기간과 배송비",
        "일반 배송은 영업일 기준 2~4일이 걸립니다. 5만 원 이상 주문하시면 배송비가 무료이고, "
        "그보다 적으면 3,000원입니다. 빠른 배송은 추가 요금으로 다음 날 도착합니다.",
    ),
    "배송조회": (
        "배송 조회",
        "상품이 발송되면 운송장 번호를 이메일로 보내드립니다. 택배사 링크에서 택배가 지금 "
        "어디에 있는지 확인할 수 있습니다.",
    ),
    "비밀번호": (
        "비밀번호 재설정",
        "비밀번호를 잊어버리셨나요? 로그인 화면에서 비밀번호 찾기를 누르면 재설정 링크를 "
        "이메일로 보내드립니다. 링크는 1시간 동안 유효합니다.",
    ),
    "이메일변경": (
        "이메일 주소 변경",
        "계정 설정의 프로필에서 새 이메일 주소를 입력하세요. 새 주소로 확인 링크를 "
        "보내드리며, 링크를 누르면 변경됩니다.",
    ),
    "탈퇴": (
        "회원 탈퇴",
        "계정 설정의 개인정보 메뉴에서 회원 탈퇴를 할 수 있습니다. 탈퇴하면 개인정보가 "
        "삭제되며 복구할 수 없습니다.",
    ),
    "결제수단": (
        "결제 수단 안내",
        "신용카드, 체크카드, 계좌이체, 카카오페이, 네이버페이로 결제할 수 있습니다.",
    ),
    "영수증": (
        "영수증과 세금계산서 발급",
        "주문 내역에서 영수증을 PDF로 내려받을 수 있습니다. 사업자는 세금계산서 발급을 "
        "요청할 수 있습니다.",
    ),
    "파손": (
        "파손된 상품 반품",
        "상품이 깨지거나 파손되어 도착했다면 7일 이내에 사진과 함께 알려 주세요. 무료로 "
        "교환하거나 환불해 드립니다.",
    ),
    "교환": (
        "사이즈 교환",
        "다른 사이즈나 색상으로 바꾸려면 주문 내역에서 교환 신청을 하세요. 교환 배송비는 "
        "고객님이 부담합니다.",
    ),
    "쿠폰": (
        "쿠폰 사용 방법",
        "결제 단계에서 쿠폰 입력란에 할인 코드를 입력하세요. 쿠폰은 주문당 하나만 사용할 수 "
        "있습니다.",
    ),
    "요금제": (
        "구독 요금제 변경",
        "결제 설정에서 언제든지 요금제를 업그레이드하거나 다운그레이드할 수 있습니다. 차액은 "
        "일할 계산됩니다.",
    ),
    "구독해지": (
        "구독 해지",
        "결제 설정에서 구독 해지를 누르면 자동 결제가 중단됩니다. 결제한 기간이 끝날 때까지 "
        "계속 이용할 수 있습니다.",
    ),
    "2단계인증": (
        "2단계 인증 설정",
        "인증 앱의 일회용 코드로 로그인을 보호하세요. 보안 설정에서 2단계 인증을 켜고 QR "
        "코드를 스캔하면 됩니다.",
    ),
    "배송지": (
        "배송지 변경",
        "발송 전이라면 주문 내역에서 배송지 주소를 수정할 수 있습니다.",
    ),
    "해외배송": (
        "해외 배송",
        "40개 나라로 해외 배송을 합니다. 관세와 부가세는 받는 분이 부담합니다.",
    ),
    "기프트카드": (
        "기프트 카드",
        "기프트 카드는 1만 원부터 50만 원까지 구매할 수 있으며 유효기간이 없습니다.",
    ),
    "보증": (
        "제품 보증 기간",
        "모든 전자제품은 1년 동안 제조 결함에 대해 무상 수리를 보증합니다.",
    ),
    "고객센터": (
        "고객센터 운영 시간",
        "고객센터는 평일 오전 9시부터 오후 6시까지 전화와 이메일로 상담합니다.",
    ),
    "수신거부": (
        "뉴스레터 수신 거부",
        "마케팅 이메일을 더 받지 않으려면 뉴스레터 하단의 수신 거부 링크를 누르세요.",
    ),
    "누락": (
        "상품 누락",
        "택배 상자에 상품이 빠져 있다면 주문이 나누어 발송되었는지 확인해 주세요. 아니라면 "
        "알려 주시면 빠진 상품을 보내드립니다.",
    ),
    "결제실패": (
        "결제 실패",
        "카드 결제가 실패했거나 안 된다면 카드 번호, 유효기간, 한도를 확인해 주세요. "
        "카드사에서 온라인 결제를 막았을 수 있습니다.",
    ),
    "주문내역": (
        "주문 내역 확인",
        "지난 구매 내역은 마이페이지의 주문 내역에서 모두 볼 수 있습니다.",
    ),
    "언어": (
        "앱 언어 변경",
        "설정의 언어 메뉴에서 한국어와 영어를 바꿀 수 있습니다.",
    ),
    "데이터": (
        "개인정보 내려받기",
        "개인정보 메뉴에서 내 데이터 사본을 ZIP 파일로 내려받을 수 있습니다.",
    ),
    "앱로그인": (
        "모바일 앱 로그인 오류",
        "아이폰이나 안드로이드 앱에서 로그인이 안 되면 앱을 최신 버전으로 업데이트하세요.",
    ),
    "예약": (
        "예약 판매 상품",
        "예약 주문 상품은 주문할 때가 아니라 발송될 때 결제됩니다.",
    ),
    "적립금": (
        "적립금 사용",
        "1,000원마다 1포인트가 적립되며 적립금은 결제할 때 사용할 수 있습니다.",
    ),
    "학생": (
        "학생 할인",
        "학교 이메일로 인증하면 학생은 15% 할인을 받을 수 있습니다.",
    ),
}

QUESTIONS = [
    # English: paraphrases and typos
    ("how do I get my money back", "refund"),
    ("refnud", "refund"),
    ("I want to cancel my order", "cancel-order"),
    ("how long does delivery take", "shipping"),
    ("where is my package", "tracking"),
    ("forgot my pasword", "password"),
    ("change email adress", "email-change"),
    ("close my account permanently", "delete-account"),
    ("can I pay with paypal", "payment-methods"),
    ("I need an invoice for my company", "invoice"),
    ("the item arrived broken", "damaged"),
    ("swap for a bigger size", "exchange"),
    ("where do I enter a promo code", "coupon"),
    ("upgrading my plan", "plan-change"),
    ("stop the automatic renewal", "cancel-subscription"),
    ("do you ship abroad? customs", "international"),
    ("warranty repairs", "warranty"),
    ("my card was declined", "payment-declined"),
    ("unsubscribe from newsleter", "newsletter"),
    ("authenticator app code", "two-factor"),
    # Korean: particles glued to nouns, endings, paraphrases and typos
    ("환불은 언제 되나요", "환불"),
    ("주문을 취소하고 싶어요", "주문취소"),
    ("배송비가 얼마예요", "배송비"),
    ("택배가 지금 어디쯤인지 알고 싶어요", "배송조회"),
    ("비밀번호를 잊어버렸어요", "비밀번호"),
    ("이메일을 바꾸고 싶어요", "이메일변경"),
    ("탈퇴하려면 어떻게 하나요", "탈퇴"),
    ("카카오페이로 결제되나요", "결제수단"),
    ("세금계산서 발급해 주세요", "영수증"),
    ("상품이 깨져서 왔어요", "파손"),
    ("사이즈 교환 가능한가요", "교환"),
    ("쿠폰은 어디에 입력하나요", "쿠폰"),
    ("요금제를 업그레이드하려면", "요금제"),
    ("구독을 해지하고 싶습니다", "구독해지"),
    ("해외로도 배송해 주나요", "해외배송"),
    ("보증기간이 얼마나 되나요", "보증"),
    ("고객센터 몇 시까지 하나요", "고객센터"),
    ("결재가 안돼요", "결제실패"),
    ("뉴스레터 그만 받고 싶어요", "수신거부"),
    ("2단계 인증 켜는 법", "2단계인증"),
]

# Questions about things this FAQ does not cover: a search for any of them must find
# nothing, so the help centre says so instead of showing unrelated articles.
UNANSWERED = [
    "xyzzy nothing",
    "qwertyuiop",
    "weather forecast",
    "chocolate cake recipe",
    "football match tickets",
    "strawberry jam",
    "날씨",
    "주식 투자",
    "자동차 보험",
    "아파트 월세",
    "회사 주가",
]
