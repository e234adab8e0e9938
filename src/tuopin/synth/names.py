"""Word lists and vectorised builders for Chinese personal and place names.

The lists are fixed so that a seed always gives the same names; weights follow the usual
long tail of Chinese surnames (a few very common, many rare).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SURNAMES = (
    "王 李 张 刘 陈 杨 马 赵 黄 周 吴 徐 孙 胡 朱 高 郭 何 罗 林 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 "
    "彭 曾 肖 田 董 袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金 "
    "石 廖 贾 夏 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 贺 顾 毛 郝 龚 邵 万 钱 "
    "严 武 戴 莫 孔 向 汤 牛 安 包 景 祁 火 把 鲁"
).split()
# Zipf-like: 王 and 李 are each ~7 % of Chinese people, the hundredth surname ~0.1 %.
SURNAME_WEIGHTS = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 1.1
SURNAME_WEIGHTS /= SURNAME_WEIGHTS.sum()

MALE_CHARS = (
    "伟 强 军 平 明 杰 勇 建 国 志 海 鹏 华 斌 涛 刚 峰 磊 林 文 辉 成 东 亮 波 宏 飞 俊 永 春 "
    "龙 德 福 生 贵 忠 山 学 兵 红 有 发 全 祥 金 荣 宝 新 武 江 虎 仁 义 礼 智 信 元 彪 奎 旺"
).split()
FEMALE_CHARS = (
    "芳 娟 敏 静 丽 艳 霞 玲 燕 秀 英 梅 兰 萍 红 娜 琴 云 莉 华 翠 桂 花 凤 珍 雪 婷 慧 月 晶 "
    "玉 洁 丹 倩 莲 菊 香 蓉 琳 欣 悦 彩 巧 爱 春 小 亚 妮 娥 叶"
).split()
PLACE_CHARS = (
    "东 西 南 北 上 下 新 红 川 山 河 沟 坪 台 塬 湾 岔 峪 岭 庄 堡 营 寨 店 坝 泉 水 石 马 杨 "
    "柳 杏 桃 龙 凤 金 银 青 白 黄 大 小 高 安 平 和 兴 丰 宁 永 清 古 长 双 三 五 峡 滩 梁 岘"
).split()

BUREAUS = (
    "扶贫开发办公室 农业农村局 教育局 卫生健康局 民政局 人力资源和社会保障局 财政局 交通运输局 "
    "水务局 住房和城乡建设局 自然资源局 林业和草原局 发展和改革局 审计局 统计局 市场监督管理局 "
    "文化和旅游局 商务局"
).split()
POSTS = "科员 科员 科员 办事员 工作人员 副科长 科长 副局长 驻村干部 第一书记".split()

MAJORITY_ETHNICITY = "汉族"
# Minorities a county may have; Gansu's own (回族, 东乡族, 藏族 ...) come first.
MINORITIES = "回族 东乡族 藏族 土族 裕固族 保安族 撒拉族 蒙古族 哈萨克族 壮族 苗族 彝族".split()


def _pick(words: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(words, pa.string()).take(pa.array(index, pa.int64()))


def person_names(
    rng: np.random.Generator, surname_index: np.ndarray, male: np.ndarray
) -> pa.Array:
    """Names like 王伟 or 李秀英: a surname and one or two given characters by sex."""
    n = len(surname_index)
    given_male = rng.integers(0, len(MALE_CHARS), size=(2, n))
    given_female = rng.integers(0, len(FEMALE_CHARS), size=(2, n))
    one_char = rng.random(n) < 0.3
    male_flags = pa.array(male)
    first, second = (
        pc.if_else(male_flags, _pick(MALE_CHARS, given_male[k]),
                   _pick(FEMALE_CHARS, given_female[k]))
        for k in range(2)
    )
    given = pc.if_else(pa.array(one_char), first, pc.binary_join_element_wise(first, second, ""))
    return pc.binary_join_element_wise(_pick(SURNAMES, surname_index), given, "")


def draw_surnames(rng: np.random.Generator, n: int) -> np.ndarray:
    """Indexes into SURNAMES, drawn by frequency."""
    return rng.choice(len(SURNAMES), size=n, p=SURNAME_WEIGHTS)


def place_names(rng: np.random.Generator, n: int, suffixes: list[str]) -> list[str]:
    """``n`` different two-character place names, each with one of ``suffixes``."""
    combos = len(PLACE_CHARS) ** 2
    if n > combos:
        raise ValueError(f"cannot name {n} places from {combos} combinations")
    picks = rng.choice(combos, size=n, replace=False)
    ends = rng.integers(0, len(suffixes), size=n)
    return [
        PLACE_CHARS[p // len(PLACE_CHARS)] + PLACE_CHARS[p % len(PLACE_CHARS)] + suffixes[e]
        for p, e in zip(picks.tolist(), ends.tolist(), strict=True)
    ]
