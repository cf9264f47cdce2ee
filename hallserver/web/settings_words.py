"""Why a setting was refused, in the manager's words (Chinese).

The checks themselves (pydantic and `govhall.config.cross_check`) speak English, one line per
problem: `file: key path: reason`. The settings page shows each line as "业务类别第 3 项·号头：
重复（'A' 出现两次）". A reason not known here is shown as it is, so nothing is hidden.
"""
from __future__ import annotations

import re

SECTIONS = {
    "rules": "规则阈值", "ticket": "号票模板", "attendance": "考勤", "categories": "业务类别", "windows": "窗口",
    "staff": "工作人员", "shifts": "班次", "posts": "岗位", "hours": "办公时间", "devices": "设备", "matters": "事项",
    "calendar": "节假日", "catalogue": "事项目录", "managers": "管理人员",
}
KEYS = {
    "id": "编号", "name": "名称", "name_en": "英文名称", "prefix": "号头", "number": "窗口号", "categories": "业务",
    "a": "A角", "b": "B角", "front_desk": "前台受理", "start": "开始时间", "end": "结束时间", "weekdays": "星期",
    "shifts": "班次", "post": "岗位", "department": "所属部门", "departments": "负责部门", "daily_quota": "每日号源",
    "session_quota": "每半天号源",
    "last_ticket_minutes": "停止取号", "grace_minutes": "迟到宽限", "away_limit_minutes": "离岗时限",
    "wait_target_minutes": "平均等候目标", "long_wait_minutes": "超长等候告警", "max_recalls": "重呼次数上限",
    "default_service_minutes": "默认办理时长", "starvation_minutes": "防插队时限", "requeue_after": "过号重排",
    "requeue_within_minutes": "过号重排有效期", "green_age": "绿色通道年龄", "notice": "过号须知", "footer": "底部提示",
    "qr_caption": "二维码说明", "window": "窗口", "role": "类型", "printer": "打印机", "id_reader": "身份证读卡器",
    "password": "密码", "password_hash": "登录密码", "year": "年份", "source": "依据", "days_off": "放假日期",
    "days_worked": "调休上班日期",
    "kind": "办件类型", "legal_days": "法定时限", "promised_days": "承诺时限", "materials": "申请材料",
}
REASONS: list[tuple[str, str]] = [       # (regular expression of the English reason, the Chinese wording)
    (r"^Field required$", "必须填写"),
    (r"^Input should be greater than or equal to (.+)$", r"不能小于 \1"),
    (r"^Input should be greater than (.+)$", r"应大于 \1"),
    (r"^Input should be less than or equal to (.+)$", r"不能大于 \1"),
    (r"^Input should be less than (.+)$", r"应小于 \1"),
    (r"^Input should be a valid integer.*$", "应为整数"),
    (r"^Input should be a valid number.*$", "应为数字"),
    (r"^Input should be a valid string.*$", "应为文字"),
    (r"^Input should be a valid boolean.*$", "应为“是”或“否”"),
    (r"^Input should be a valid list.*$", "应为一组选项"),
    (r"^String should have at least (\d+) characters?$", r"至少 \1 个字"),
    (r"^String should have at most (\d+) characters?$", r"最多 \1 个字"),
    (r"^String should match pattern .*$", "格式不对（只用字母、数字、- 和 _）"),
    (r"^List should have at least (\d+) items?.*$", r"至少选 \1 项"),
    (r"^List should have at most (\d+) items?.*$", r"最多 \1 项"),
    (r"^Extra inputs are not permitted$", "不是可设置的项"),
    (r"^'(.*)' appears twice$", r"重复（“\1”出现两次）"),
    (r"^unknown staff '(.*)'$", r"没有工号为 \1 的工作人员"),
    (r"^unknown category '(.*)'$", r"没有编号为 \1 的业务类别"),
    (r"^unknown shift '(.*)'$", r"没有名为“\1”的班次"),
    (r"^unknown window '(.*)'$", r"没有编号为 \1 的窗口"),
    (r"^unknown department '(.*)' \(no window, staff member or matter has it\)$",
     r"没有“\1”这个部门：部门负责人所负责的部门须是某个窗口、工作人员或事项的所属部门"),
    (r"^a lead \(部门负责人\) needs the department\(s\) they answer for$", "部门负责人须填写所负责的部门"),
    (r"^only a lead has departments; a (.*) sees them all$", "只有部门负责人填写负责部门"),
    (r"^A and B must be two different people$", "A角和B角必须是两个不同的人"),
    (r"^a (counter|tablet) needs a window$", r"\1 需要指定窗口"),
    (r"^(\S+) has no password; set one \(hall staff-password\) or allow badge-only login for the post .*$",
     r"\1 没有登录密码：请先用 hall staff-password 设置密码，或在 [counter] badge_login_posts 中允许其岗位刷卡登录"),
    (r"^'(.*)' is the hall server's own broker account; give the device another id$",
     r"“\1”是大厅服务器自己的消息账号，请给设备另起一个编号"),
    (r"^(.*) is generated here, never typed in$", "密码不能手填，请用“生成密码”"),
    (r"^shift (.*) ends before it starts$", r"班次“\1”的结束时间不晚于开始时间"),
    (r"^a value is needed$", "需要填写一个值"),
    (r"^cannot write \((.*)\)$", r"服务器无法写入配置文件（\1），请检查文件和目录的权限（docs/deployment.md）"),
    (r"^unknown key (.*)$", r"不是可设置的项：\1"),
    (r"^(.*) cannot be changed here$", r"\1 不能在此修改（号票、办件和评价都引用它）"),
    (r"^no (.*) in the config$", r"配置中没有 \1"),
    (r"^no (.*) to remove$", r"配置中没有 \1，无法删除"),
    (r"^entries are not removed here$", "这一项设置不能在此删除"),
    (r"^each entry needs its year \(2000–2100\)$", "每一项都要有年份（2000–2100）"),
    (r"^each entry needs its (.*)$", r"每一项都要有\1"),
    (r"^'(.*)' is not a date .*$", r"“\1”不是日期（YYYY-MM-DD）或日期范围（YYYY-MM-DD..YYYY-MM-DD）"),
    (r"^'(.*)' ends before it starts$", r"“\1”结束早于开始"),
    (r"^'(.*)' is not in (\d+)$", r"“\1”不在 \2 年内"),
    (r"^(\S+) is a weekday; list only worked weekend days$", r"\1 本来就是工作日；调休上班只填周六、周日"),
    (r"^(\S+) is both off and worked$", r"\1 不能既放假又上班"),
    (r"^a list of dates or ranges$", "应为日期或日期范围的列表"),
    (r"^promised (\d+) working days is longer than the legal (\d+)$", r"承诺时限 \1 个工作日长于法定时限 \2 个工作日"),
    (r"^a 即办件 or 当日办结件 has 0 promised days, and only they do$",
     "即办件、当日办结件的承诺时限为 0 天，且只有它们为 0 天"),
    (r"^a material is listed twice$", "申请材料重复"),
    (r"^certificate must be 是 or 否 \(or blank\), not '(.*)'$",
     r"certificate（发证）应为“是”或“否”（或留空），不能是“\1”"),
    (r"^row (\d+)$", r"第 \1 行"),
    (r"^not a CSV text nor an Excel workbook$", "不是 CSV 文本或 Excel 工作簿"),
    (r"^legal_days and promised_days must be whole numbers.*$", "法定时限和承诺时限应为整数"),
    (r"^Input should be '即办件', '当日办结件', '承诺件', '上报件' or '联办件'$",
     "应为 即办件、当日办结件、承诺件、上报件 或 联办件"),
    (r"^(\d+) matters from (.*)$", r"\2 中的 \1 个事项"),
    (r"^up to (\d+) characters of text$", r"最多 \1 个字"),
    (r"^the header needs the columns (.*) \(missing (.*)\)$", r"表头须有这些列：\1（缺少 \2）"),
    (r"^staff is empty$", "工号为空"),
    (r"^send an object of keys and values$", "请求格式不对"),
    (r"^send a list of entries$", "请求格式不对"),
]
_REASONS = [(re.compile(pattern), words) for pattern, words in REASONS]


def key_words(path: str) -> str:
    """`posts[2].a` → 岗位第 3 项·A角; `rules.green_age` → 规则阈值·绿色通道年龄."""
    out = []
    for part in path.split("."):
        m = re.fullmatch(r"([A-Za-z_]+)\[(\d+)\]", part)
        if m:
            out.append(f"{SECTIONS.get(m[1], KEYS.get(m[1], m[1]))}第 {int(m[2]) + 1} 项")
        else:
            out.append(SECTIONS.get(part, KEYS.get(part, part)) if not out else KEYS.get(part, part))
    return "·".join(out)


def reason_words(reason: str) -> str:
    for pattern, words in _REASONS:
        if pattern.match(reason):
            return pattern.sub(words, reason)
    return reason


def settings_reason(message: str) -> str:
    """Every line of a refusal (`file: key: reason`, `section: reason`, `CSV: row n: …`) in Chinese."""
    lines = []
    for line in message.splitlines():
        parts = [p.strip() for p in line.split(": ")]
        if parts and parts[0].endswith((".toml", ".csv")):
            parts = parts[1:]                          # the file's name says nothing to the manager
        if parts and parts[0] == "CSV":
            parts[0] = "导入的文件"
        if len(parts) >= 2 and (m := re.fullmatch(r"row (\d+)", parts[1])):
            parts[1] = f"第 {m[1]} 行"
        *where, reason = parts
        lines.append("：".join([*(key_words(w) for w in where), reason_words(reason)]))
    return "\n".join(lines)
