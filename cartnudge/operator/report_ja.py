"""The HTML report's Japanese words for the sections beyond the flows' tables: the definitions
at the bottom, the holdout comparison, the A/B tests and the skip and attribution reasons.

Plain data and small pure functions; :mod:`cartnudge.operator.report_html` uses them when the
page speaks Japanese (``--lang ja``, the default for a shop in Japan's time zone). A key of
:data:`cartnudge.operator.report.DEFINITIONS` without a Japanese text here is a test failure
(``tests/test_report_ja.py``), so a new figure cannot appear in English on a Japanese page.
"""

from __future__ import annotations

import re

# What each figure counts (report.DEFINITIONS), in Japanese.
DEFINITIONS_JA = {
    "cohort": "期間の各日（設定のタイムゾーン、両端を含む）にカゴ落ちしたカート。リマインドや"
    "購入がいつであっても、すべての数値はこのカートについて数えます",
    "abandoned": "期間にカゴ落ちした受注：ショップでカゴ落ち状態の行と、cartnudge が"
    "リマインドまたは対象外とした後に購入された受注（母数は減りません）。入力画面離脱フローは"
    "abandoned_step が input のもの、確認画面離脱フローはそれ以外。一斉配信には当てはまりません",
    "targeted": "フローで配信のある受注の数（状態を問わず。ホールドアウトの顧客に送るはずだった"
    "リマインドはホールドアウトの節だけで数えます）",
    "skipped": "対象外の理由が記録され、フローで配信のない受注の数（リマインドなし）。"
    "1 件の受注に複数の理由があり得ます",
    "sent": "送信したメッセージの数（状態が sent の配信）",
    "failed": "恒久的に失敗したメッセージ",
    "in_doubt": "送信中にスイープが止まったメッセージ：送られた可能性があり、再送はしません",
    "retry": "一時的な失敗の後、再試行を待っているメッセージ",
    "in_progress": "実行中のスイープが確保した、または送信中のメッセージ",
    "reminded": "少なくとも 1 通送信した受注の数",
    "recovered": "リマインドから購入に至ったカゴ落ち受注の数（url・cart・click・window の"
    "いずれかで計測した購入）",
    "recovered_by": "計測の方法別のリカバリー件数：url（購入がリマインドのトークンを持っていた）、"
    "cart（ショップがリマインドしたカートからの購入と記録した）、click（リマインドのクリック後、"
    "計測期間内に購入）、window（リマインド送信後、計測期間内に購入）",
    "recovery_rate": "リカバリー件数 ÷ リマインド済み受注",
    "recovered_revenue": "円、計測した購入の合計",
    "clicks": "リマインドのリカバリーリンクのクリック数（ショップの復元ページまたは GET /r/<token> "
    "がリカバリートークンを確認した回数。メールの開封は計測しません）",
    "clicked": "リマインドが 1 回以上クリックされた受注の数",
    "click_rate": "クリックされた受注 ÷ リマインド済み受注",
    "click_to_purchase_rate": "計測したリマインドがクリックされていたリカバリー件数 ÷ "
    "クリックされた受注",
    "coupons_given": "グループの送信済みメッセージが持つクーポンコードの数",
    "coupons_redeemed": "そのうち、完了した受注が使ったコード（coupon_code）の数",
    "discount_cost": "円、利用されたコードの割引額：定額（「500円」）はその額、割合（「10%」）は"
    "利用した受注の total_amount に対する割合（四捨五入）",
    "discount_unknown": "割引額の分からない利用済みコード（円でも割合でもない割引、または"
    "cartnudge が受注額を記録する前に利用された割合のコード）。割引額には含めません",
    "recovered_revenue_net": "リカバリー売上から割引額を引いたもの（グループの利用済みコードは、"
    "どの受注で使われたかによらずすべて数えます）",
    "coupon_seekers": "最初のコードの後、coupons.seeker_after 件以上ほかのカートをカゴ落ちした"
    "購入者（キーをまとめ、アドレスは伏せ字）",
    "breakdowns": "フローのメッセージをチャネル別、きっかけ別（ステップの種類：delay・price_drop・"
    "low_stock、一斉配信は bulk）、クーポン有無別（with_code・without_code）に数えます。"
    "2 つの値でリマインドされた受注は両方に数えます",
    "series": "カゴ落ちした日（現地時間）、ISO 週（月曜始まり）または月ごとの集計。"
    "期間内に限ります",
    "holdouts": "ホールドアウトのあるフロー・ステップごとに、リマインドした人とホールドアウトした人"
    "（リマインドするはずだった時点で記録）を比べます。どちらも、その（はずだった）リマインドから "
    "recovery.attribution_window 以内に購入した人をリカバリーと数えます。リフト = 二つの率の差と"
    "その信頼区間（Newcombe）、増分の受注と売上 = リフト × リマインドした人数、p 値は二標本比率の "
    "z 検定。両群が measure.min_effect に必要な人数に達するまでは「データ不足」と表示します",
}

# Labels of the holdout comparison and the A/B tables (lift.lift_figures, experiments).
LABELS_JA = {
    "holdout figure": "ホールドアウト比較",
    "value": "値",
    "verdict": "判定",
    "reminded persons": "リマインドした人数",
    "holdout persons": "ホールドアウトした人数",
    "reminded: recovered": "リマインド群：リカバリー",
    "holdout: recovered": "ホールドアウト群：リカバリー",
    "lift": "リフト",
    "relative lift": "相対リフト",
    "p-value": "p 値",
    "incremental orders": "増分の受注",
    "incremental revenue": "増分の売上",
    "still needed": "あと必要な人数",
    "variant": "バリアント",
    "weight": "配分",
    "template": "テンプレート",
    "delay": "待ち時間",
    "persons": "人数",
    "sent": "送信",
    "clicks": "クリック",
    "click rate": "クリック率",
    "recovered": "リカバリー",
    "recovery rate (CI)": "リカバリー率（信頼区間）",
    "lift vs control (CI)": "対照群とのリフト（信頼区間）",
    "revenue per person (CI)": "1 人あたり売上（信頼区間）",
}

VERDICTS_JA = {
    "not enough data yet": "データ不足（集計中）",
    "the reminders add recoveries": "リマインドでリカバリーが増えています",
    "no clear lift (the interval includes 0)": "はっきりした効果なし（区間が 0 を含む）",
    "the reminders lose recoveries": "リマインドでリカバリーが減っています",
}

# Skip reasons and attribution rules: the code stays (it is what the CSV and JSON carry), a
# Japanese gloss follows it.
REASONS_JA = {
    "flow_disabled": "フローが無効",
    "not_abandoned": "カゴ落ちではない",
    "not_target": "配信対象外の顧客",
    "fraud_result": "不正検知の結果",
    "fraud_action": "不正検知の対応",
    "purchased": "購入済み",
    "cart_expired": "カートの有効期限切れ",
    "no_consent": "同意なし",
    "no_address": "宛先なし",
    "invalid_address": "宛先が不正",
    "suppressed": "配信停止",
    "already_delivered": "送信済み",
    "frequency_cap": "送信回数の上限",
    "quiet_hours": "送信しない時間帯",
    "invalid_row": "使えない行",
    "invalid_amount": "金額が不正",
    "invalid_time": "日時が不正",
    "below_min_amount": "金額が下限未満",
    "above_max_amount": "金額が上限超え",
    "segment_status": "会員区分が対象外",
    "returning_customer": "リピーター",
    "first_time_customer": "初回購入者",
    "excluded_product": "除外商品を含む",
    "excluded_category": "除外カテゴリを含む",
    "no_included_product": "対象商品を含まない",
    "no_included_category": "対象カテゴリを含まない",
    "out_of_stock": "在庫切れ",
    "url": "リンクのトークン",
    "cart": "カートの記録",
    "click": "クリック後の購入",
    "window": "期間内の購入",
}


def figure_label(label: str) -> str:
    """A holdout or A/B label in Japanese: "lift (95% CI)" → "リフト（95% 信頼区間）";
    "persons needed to see ..." → "検出に必要な人数 ..."; unknown labels as they are."""
    match = re.fullmatch(r"(.+) \((\d+(?:\.\d+)?)% CI\)", label)
    if match and match.group(1) in LABELS_JA:
        return f"{LABELS_JA[match.group(1)]}（{match.group(2)}% 信頼区間）"
    if label.startswith("persons needed to see "):
        return "検出に必要な人数（" + label.removeprefix("persons needed to see ") + "）"
    return LABELS_JA.get(label, label)


def figure_value(text: str) -> str:
    """A holdout figure's value in Japanese (verdicts, "N reminded, M holdout")."""
    if text in VERDICTS_JA:
        return VERDICTS_JA[text]
    return re.sub(
        r"^([\d,]+) reminded, ([\d,]+) holdout$", r"リマインド \1 人、ホールドアウト \2 人", text
    )


def reason_label(code: str) -> str:
    """A skip reason or attribution rule with its Japanese gloss: "purchased（購入済み）"."""
    gloss = REASONS_JA.get(code)
    return f"{code}（{gloss}）" if gloss else code


def lift_title_ja(flow: str, step: int | None, share: float) -> str:
    """The holdout section's title: "confirm フロー ステップ 1：リマインド vs ホールドアウト
    （10% をホールドアウト）"."""
    where = f"{flow} フロー" if step is None else f"{flow} フロー ステップ {step}"
    return f"{where}：リマインド vs ホールドアウト（{share * 100:g}% をホールドアウト）"


def state_ja(text: str) -> str:
    """An A/B test's state line in Japanese."""
    if text.startswith("winner: "):
        return "勝者：" + text.removeprefix("winner: ")
    if text.startswith("stopped, kept "):
        return "終了（" + text.removeprefix("stopped, kept ") + " を継続）"
    match = re.fullmatch(r"collecting \(up to ([\d,]+) more persons per variant\)", text)
    if match:
        return f"集計中（バリアントごとに最大あと {match.group(1)} 人）"
    return {"no difference": "差なし", "collecting": "集計中", "stopped": "終了"}.get(text, text)
