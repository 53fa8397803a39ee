"""Generate the OneGrid demo city 西江市 (Xijiang, fictional) into ``data/demo/``.

Usage::

    python data/demo/generate.py [OUT_DIR]

Writes next to this file unless ``OUT_DIR`` is given. Pure numpy/shapely/pyproj, no database.
Deterministic: one ``numpy.random.default_rng(SEED)`` drawn in a fixed order and sorted
outputs, so two runs give byte-identical files.

How the topology is made exact: the city is a lattice of quadrilateral cells (one cell = one
unit grid, 单元网格) laid out in a metric frame (EPSG:32649). Every lattice *vertex* is
converted to lon/lat and rounded to 7 decimals once; every cell polygon is built from those
shared rounded vertices, so neighbouring grids share their edges bit for bit. Communities,
streets and districts are sets of cells, and each region polygon is the coverage union of its
cells (``shapely.coverage_union_all``, which only drops shared edges and never computes new
coordinates). Roads run along lattice lines; components and shops are placed a few metres off
the road centreline, so every point lies strictly inside one grid.
"""

from __future__ import annotations

import itertools
import json
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

SEED = 449900
CITY_CODE = "449900"
CITY = {"code": CITY_CODE, "name": "西江市", "name_en": "Xijiang", "hotline": "12319"}
UTM_EPSG = 32649
ORIGIN_LON, ORIGIN_LAT = 112.47, 23.05
NC, NR = 70, 66  # lattice cells west→east, south→north (bounding box of the city)
TARGET_CELLS = 2060  # cells kept inside the irregular city outline
ROTATION_DEG = 9.0  # the street plan is turned a little off north
DECIMALS = 7

# Lattice line classes
NONE, BRANCH, SEC, MAIN = 0, 1, 2, 3
CLASS_NAME = {MAIN: "main", SEC: "secondary", BRANCH: "branch"}
# Perpendicular jitter of the vertices on a line of each class (metres): roads stay straight.
JITTER = {MAIN: 0.0, SEC: 2.5, BRANCH: 5.0, NONE: 12.0}

# Administrative divisions. District: (code, name, name_en) in the order west-south,
# west-north, east.
DISTRICTS = [("449902", "端江区", "Duanjiang"), ("449903", "鼎山区", "Dingshan"),
             ("449904", "高岭区", "Gaoling")]


def _words(text: str) -> list[str]:
    return text.split()


def _pairs(text: str) -> list[tuple[str, str]]:
    out = []
    for item in text.split():
        zh, en = item.split(":")
        out.append((zh, en))
    return out


STREET_NAMES = _pairs("""
黄岗:Huanggang 睦岗:Mugang 桂城:Guicheng 广利:Guangli 坑口:Kengkou 凤凰:Fenghuang
永安:Yong'an 沙浦:Shapu 莲花:Lianhua 白石:Baishi 金渡:Jindu 新桥:Xinqiao 岭南:Lingnan
太和:Taihe 沙头:Shatou 龙田:Longtian 长岗:Changgang 大塘:Datang 乐城:Lecheng 蕉园:Jiaoyuan
""")
COMMUNITY_NAMES = _pairs("""
江滨:Jiangbin 宝月:Baoyue 康乐:Kangle 丽谯:Liqiao 厂排:Changpai 塔脚:Tajiao 五一:Wuyi
阅江:Yuejiang 星湖:Xinghu 七星:Qixing 牌坊:Paifang 天宁:Tianning 正东:Zhengdong
正西:Zhengxi 兴华:Xinghua 文明:Wenming 青年:Qingnian 朝阳:Chaoyang 人民:Renmin
建设:Jianshe 新村:Xincun 前进:Qianjin 东岗:Donggang 西岗:Xigang 桥头:Qiaotou 龙顶:Longding
鹤岗:Hegang 松岗:Songgang 荷塘:Hetang 竹园:Zhuyuan 梅花:Meihua 兰亭:Lanting 金鸡:Jinji
银湖:Yinhu 玉屏:Yuping 锦绣:Jinxiu 和平:Heping 团结:Tuanjie 幸福:Xingfu 安居:Anju
乐园:Leyuan 书院:Shuyuan 学府:Xuefu 古塔:Guta 水基:Shuiji 沙湖:Shahu 鼎湖:Dinghu
砚洲:Yanzhou 端溪:Duanxi 石岗:Shigang 岭头:Lingtou 坪塘:Pingtang 河口:Hekou 大旺:Dawang
新圩:Xinxu 东园:Dongyuan 西园:Xiyuan 北园:Beiyuan 南园:Nanyuan 翠湖:Cuihu 华苑:Huayuan
景福:Jingfu 富民:Fumin 长安:Chang'an 高新:Gaoxin 红旗:Hongqi 光明:Guangming 双龙:Shuanglong
紫荆:Zijing 桂花:Guihua 榕树:Rongshu 木棉:Mumian 米仓:Micang 仁和:Renhe 太平:Taiping
""")
ARTERY_WORDS = _pairs("""
西江:Xijiang 端江:Duanjiang 建设:Jianshe 人民:Renmin 解放:Jiefang 中山:Zhongshan
天宁:Tianning 星湖:Xinghu 信安:Xin'an 端州:Duanzhou 鼎山:Dingshan 高岭:Gaoling
江滨:Jiangbin 朝阳:Chaoyang 前进:Qianjin 府前:Fuqian 城中:Chengzhong 光明:Guangming
迎宾:Yingbin 工农:Gongnong 体育:Tiyu 青年:Qingnian 文明:Wenming 东岗:Donggang
睦岗:Mugang 黄岗:Huanggang 宋城:Songcheng 康乐:Kangle 宝月:Baoyue 砚洲:Yanzhou
七星:Qixing 北岭:Beiling 龙湖:Longhu 新兴:Xinxing 广宁:Guangning 德庆:Deqing
封开:Fengkai 怀集:Huaiji 双龙:Shuanglong 金渡:Jindu 永安:Yong'an 和平:Heping
团结:Tuanjie 振兴:Zhenxing 跃进:Yuejin 胜利:Shengli 复兴:Fuxing 明珠:Mingzhu 紫云:Ziyun
""")
LANE_WORDS = _pairs("""
桂花:Guihua 榕树:Rongshu 木棉:Mumian 荷塘:Hetang 竹园:Zhuyuan 梅花:Meihua 兰亭:Lanting
书院:Shuyuan 学府:Xuefu 古塔:Guta 水基:Shuiji 沙湖:Shahu 丽谯:Liqiao 厂排:Changpai
塔脚:Tajiao 五一:Wuyi 阅江:Yuejiang 牌坊:Paifang 正东:Zhengdong 正西:Zhengxi 兴华:Xinghua
新村:Xincun 桥头:Qiaotou 龙顶:Longding 鹤岗:Hegang 松岗:Songgang 金鸡:Jinji 银湖:Yinhu
玉屏:Yuping 锦绣:Jinxiu 幸福:Xingfu 安居:Anju 乐园:Leyuan 石岗:Shigang 岭头:Lingtou
坪塘:Pingtang 河口:Hekou 新圩:Xinxu 东园:Dongyuan 西园:Xiyuan 北园:Beiyuan 南园:Nanyuan
翠湖:Cuihu 华苑:Huayuan 景福:Jingfu 富民:Fumin 长安:Chang'an 红旗:Hongqi 紫荆:Zijing
米仓:Micang 盐埠:Yanbu 鱼行:Yuhang 打铜:Datong 豆豉:Douchi 状元:Zhuangyuan 青云:Qingyun
登云:Dengyun 太平:Taiping 仁和:Renhe 德胜:Desheng 朝天:Chaotian 水井:Shuijing 三多:Sanduo
五福:Wufu
""")
LANE_SUFFIXES = [("街", "Street"), ("巷", "Lane"), ("一巷", "1st Lane"), ("二巷", "2nd Lane"),
                 ("三巷", "3rd Lane"), ("横街", "Heng Street"), ("直街", "Zhi Street")]

SURNAMES = list(
    "李王张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蔡蒋余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛"
    "郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = _words("伟 芳 娜 秀英 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀兰 霞 平 刚 桂英 华 建华 "
         "志强 国强 晓东 海燕 丽华 文 斌 婷 雪 玲 辉 鹏 浩 宇 欣 怡 嘉欣 子豪 俊杰 家豪 伟明 锦华 "
         "志明 少华 惠玲 燕萍 美玲 国华 永强 建国 卫东 小红 晓燕 振华 海涛 颖 琳 思敏 梓轩 "
         "诗琪 泽宇 雅婷 启明 宏伟 秋菊 冬梅 春燕 德明 汉文 耀祖 炳坤 锦荣")
PHONE_PREFIXES = ["138", "139", "135", "136", "137", "150", "151", "152", "158", "159",
                  "186", "187", "188", "189", "133", "180", "181", "177"]

DEPARTMENTS = [  # numbering matches data/config/component_types.yaml (default owners)
    ("D01", "市政设施管理处", "Municipal Facilities Administration", "municipal"),
    ("D02", "路灯管理所", "Street Lighting Office", "lighting"),
    ("D03", "环境卫生管理处", "Environmental Sanitation Administration", "sanitation"),
    ("D04", "园林绿化管理处", "Landscaping and Greening Administration", "landscaping"),
    ("D05", "城市管理综合执法支队", "Urban Management Law Enforcement Detachment",
     "enforcement"),
    ("D06", "交通运输局", "Transport Bureau", "traffic"),
    ("D07", "西江供水有限公司", "Xijiang Water Supply Co., Ltd.", "water"),
    ("D08", "西江燃气有限公司", "Xijiang Gas Co., Ltd.", "utility"),
    ("D09", "中国电信西江分公司", "China Telecom Xijiang Branch", "telecom"),
    ("D10", "城市运行管理指挥中心", "City Operations Command Center", "command"),
]
COMMAND_DEPT = "D10"
ENFORCEMENT_DEPT = "D05"

# Component types placed here: type code -> (name, owner department, device code prefix).
# Owners follow data/config/component_types.yaml.
COMPONENT_TYPES = {
    "0101": ("上水井盖", "D07", "DEV-MHC"),
    "0102": ("污水井盖", "D01", "DEV-MHC"),
    "0103": ("雨水井盖", "D01", "DEV-MHC"),
    "0105": ("电力井盖", "D01", "DEV-MHC"),
    "0107": ("通信井盖", "D09", "DEV-MHC"),
    "0117": ("消防栓", "D07", "DEV-HYD"),
    "0122": ("路灯", "D02", "DEV-LGT"),
    "0125": ("摄像头", "D10", "CAM"),
    "0305": ("招牌", "D05", "DEV-SGN"),
    "0308": ("垃圾箱", "D03", "DEV-BIN"),
}
MANHOLE_TYPES = ["0101", "0102", "0103", "0105", "0107"]
MANHOLE_WEIGHTS = {MAIN: [0.2, 0.25, 0.25, 0.15, 0.15], SEC: [0.2, 0.25, 0.25, 0.15, 0.15],
                   BRANCH: [0.25, 0.3, 0.3, 0.05, 0.1]}
MANHOLE_DEVICE_SHARE = 0.6
LIGHT_SPACING_M = 30.0
MANHOLE_SPACING_M = 70.0
N_BINS, N_HYDRANTS = 300, 150
SHOP_MARGIN_M = 28.0  # shops keep this far from a junction so zones never meet round a corner

FOODS = _words("""
牛杂 肠粉 烧腊 云吞面 砂锅粥 糖水铺 煲仔饭 烧鹅 茶餐厅 火锅店 米粉店 饺子馆
面馆 烤鱼 大排档 裹蒸粽 早茶 甜品店 猪脚饭 螺蛳粉 奶茶店 鸡煲 炖品店 凉茶铺
""")
STORE_BRANDS = _words("好又多 美宜佳 天天 惠民 百佳 乐购 快客 万家福 十足 喜士多")
LUCKY = _words("""
鸿福 金穗 万利 兴隆 宏达 顺发 福满 嘉和 聚福 永发 信诚 华丰 东升 盛世 恒昌 佳乐
明珠 利民 大众 新时代 金马 同心 康泰 好运来 旺角 粤兴 广源 德信 昌盛 红星 天天乐
佳美 富华 顺景 怡和 安达 万家 星光 金辉 百顺
""")
SHOP_KINDS: dict[str, tuple[float, list[str]]] = {
    # category: (weight, name patterns; {s}=surname {f}=food {b}=brand {l}=lucky {w}=place)
    "餐饮": (0.32, ["老{s}{f}", "{s}记{f}", "{l}{f}", "{w}{f}"]),
    "零售": (0.28, ["{b}便利店", "{l}超市", "{l}水果店", "{s}记五金店", "{l}烟酒商行",
                  "{l}文具店", "{l}手机通讯", "{l}母婴店", "{l}服装店", "新华书店{w}店"]),
    "服务": (0.17, ["{l}发型屋", "{l}洗衣店", "{l}图文快印", "{l}美容院", "{l}眼镜店",
                  "{l}摄影", "{l}家政服务", "{s}记开锁"]),
    "汽修": (0.07, ["{l}汽车维修", "{s}记轮胎", "{l}洗车行", "{l}电动车维修", "{l}摩托车行"]),
    "住宿": (0.05, ["{l}宾馆", "{w}酒店", "{l}旅馆"]),
    "建材": (0.05, ["{l}建材", "{l}陶瓷", "{l}灯饰", "{l}五金建材"]),
    "医药": (0.06, ["{l}大药房", "{w}诊所", "{s}氏口腔诊所", "{l}医药"]),
}
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]


# --------------------------------------------------------------------------------------------
# Small helpers

def rnd(values: Any) -> Any:
    return np.round(np.asarray(values, dtype=float), DECIMALS)


def pick(rng: np.random.Generator, items: list[Any]) -> Any:
    return items[int(rng.integers(len(items)))]


def person_name(rng: np.random.Generator) -> str:
    return pick(rng, SURNAMES) + pick(rng, GIVEN)


def phone(rng: np.random.Generator) -> str:
    return pick(rng, PHONE_PREFIXES) + "".join(str(d) for d in rng.integers(0, 10, 8))


def uscc(rng: np.random.Generator, district_code: str) -> str:
    """An 18-character unified social credit code (统一社会信用代码, GB 32100-2015) of an
    individual business (92 = 工商 + 个体工商户), with both check characters right."""
    body = "MA" + "".join(pick(rng, list(USCC_CHARS)) for _ in range(6))
    total = sum(w * int(c, 36) for w, c in zip(ORG_WEIGHTS, body, strict=True))
    check = 11 - total % 11
    org = body + ("X" if check == 10 else "0" if check == 11 else str(check))
    head = "92" + district_code + org
    total = sum(w * USCC_CHARS.index(c) for w, c in zip(USCC_WEIGHTS, head, strict=True))
    return head + USCC_CHARS[(31 - total % 31) % 31]


def neighbours4(cell: tuple[int, int]) -> list[tuple[int, int]]:
    i, j = cell
    return [(i + 1, j), (i - 1, j), (i, j + 1), (i, j - 1)]


def components4(cells: Iterable[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    """4-connected components, each sorted, largest first (ties by first cell)."""
    todo = set(cells)
    out = []
    for start in sorted(todo):
        if start not in todo:
            continue
        todo.discard(start)
        comp, k = [start], 0
        while k < len(comp):
            for nb in neighbours4(comp[k]):
                if nb in todo:
                    todo.discard(nb)
                    comp.append(nb)
            k += 1
        out.append(sorted(comp))
    return sorted(out, key=lambda c: (-len(c), c[0]))


# --------------------------------------------------------------------------------------------
# Lattice

def line_classes(rng: np.random.Generator, n: int) -> tuple[np.ndarray, list[int]]:
    """Classes of the n+1 lattice lines across one axis, and the indices of the main lines.

    Main roads every 5-8 cells; in each block between them a secondary road in the middle and
    branch roads every second line of the same parity; the other lines are walls/paths.
    """
    mains = [0]
    while True:
        nxt = mains[-1] + int(rng.integers(5, 9))
        if nxt >= n - 3:
            mains.append(n)
            break
        mains.append(nxt)
    cls = np.full(n + 1, NONE)
    for a, b in itertools.pairwise(mains):
        k = b - a
        m = k // 2
        for p in range(1, k):
            if p == m:
                cls[a + p] = SEC
            elif p % 2 == m % 2:
                cls[a + p] = BRANCH
    cls[mains] = MAIN
    return cls, mains


@dataclass
class Lattice:
    col_cls: np.ndarray  # (NC+1,) class of each column line (runs south→north)
    row_cls: np.ndarray  # (NR+1,) class of each row line (runs west→east)
    col_mains: list[int]
    row_mains: list[int]
    u: np.ndarray  # (NC+1, NR+1) local metric coordinates of the vertices
    v: np.ndarray
    x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # UTM
    y: np.ndarray = field(default_factory=lambda: np.zeros(0))
    lon: np.ndarray = field(default_factory=lambda: np.zeros(0))  # rounded
    lat: np.ndarray = field(default_factory=lambda: np.zeros(0))
    col_art: list[int] = field(default_factory=list)  # main lines that bound streets (大道)
    row_art: list[int] = field(default_factory=list)


def quad_areas(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Shoelace areas (NC, NR) of the lattice cells."""
    xs = [u[:-1, :-1], u[1:, :-1], u[1:, 1:], u[:-1, 1:]]
    ys = [v[:-1, :-1], v[1:, :-1], v[1:, 1:], v[:-1, 1:]]
    s = sum(xs[k] * ys[(k + 1) % 4] - xs[(k + 1) % 4] * ys[k] for k in range(4))
    return 0.5 * s


def build_lattice(rng: np.random.Generator) -> Lattice:
    col_cls, col_mains = line_classes(rng, NC)
    row_cls, row_mains = line_classes(rng, NR)
    u_lines = np.concatenate([[0.0], np.cumsum(rng.uniform(92.0, 110.0, NC))])
    v_lines = np.concatenate([[0.0], np.cumsum(rng.uniform(92.0, 110.0, NR))])
    u_lines -= u_lines[-1] / 2
    v_lines -= v_lines[-1] / 2
    amp_u = np.array([JITTER[c] for c in col_cls])[:, None]
    amp_v = np.array([JITTER[c] for c in row_cls])[None, :]
    du = rng.uniform(-1.0, 1.0, (NC + 1, NR + 1)) * amp_u
    dv = rng.uniform(-1.0, 1.0, (NC + 1, NR + 1)) * amp_v
    for _ in range(20):  # tame the rare cell that came out too small or too large
        areas = quad_areas(u_lines[:, None] + du, v_lines[None, :] + dv)
        bad = np.argwhere((areas < 7000.0) | (areas > 14500.0))
        if not len(bad):
            break
        for i, j in bad:
            du[i:i + 2, j:j + 2] *= 0.5
            dv[i:i + 2, j:j + 2] *= 0.5
    u = u_lines[:, None] + du
    v = v_lines[None, :] + dv
    return Lattice(col_cls, row_cls, col_mains, row_mains, u, v)


def georeference(lattice: Lattice) -> tuple[Transformer, Transformer]:
    to_utm = Transformer.from_crs(4326, UTM_EPSG, always_xy=True)
    to_wgs = Transformer.from_crs(UTM_EPSG, 4326, always_xy=True)
    x0, y0 = to_utm.transform(ORIGIN_LON, ORIGIN_LAT)
    a = math.radians(ROTATION_DEG)
    lattice.x = x0 + math.cos(a) * lattice.u - math.sin(a) * lattice.v
    lattice.y = y0 + math.sin(a) * lattice.u + math.cos(a) * lattice.v
    lon, la = to_wgs.transform(lattice.x, lattice.y)
    lattice.lon, lattice.lat = rnd(lon), rnd(la)
    return to_utm, to_wgs


# --------------------------------------------------------------------------------------------
# The city outline and the administrative partition (as sets of cells)

Cell = tuple[int, int]


def cell_centres(lattice: Lattice) -> tuple[np.ndarray, np.ndarray]:
    cu = (lattice.u[:-1, :-1] + lattice.u[1:, :-1] + lattice.u[1:, 1:] + lattice.u[:-1, 1:]) / 4
    cv = (lattice.v[:-1, :-1] + lattice.v[1:, :-1] + lattice.v[1:, 1:] + lattice.v[:-1, 1:]) / 4
    return cu, cv


def city_mask(rng: np.random.Generator, lattice: Lattice) -> set[Cell]:
    """An irregular blob cut by the river (西江) on the south side; simply connected cells."""
    cu, cv = cell_centres(lattice)
    theta = np.arctan2(cv, cu * 0.87)
    r = np.hypot(cu * 0.87, cv)
    f = np.ones_like(r)
    for k, amp in ((2, 0.09), (3, 0.08), (4, 0.05), (5, 0.04), (7, 0.025)):
        f += amp * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    ph1, ph2 = rng.uniform(0, 2 * math.pi, 2)
    river = -1800.0 + 230.0 * np.sin(cu / 760.0 + ph1) + 90.0 * np.sin(cu / 290.0 + ph2)
    score = np.where(cv < river, np.inf, r / f)
    order = np.argsort(score, axis=None, kind="stable")[:TARGET_CELLS]
    mask = {(int(k // NR), int(k % NR)) for k in order}
    return clean_mask(mask)


def clean_mask(mask: set[Cell]) -> set[Cell]:
    """Keep the largest piece, fill holes, remove corner-only contacts (pinches)."""
    inside = {(i, j) for i in range(NC) for j in range(NR)}
    for _ in range(1000):
        changed = False
        comps = components4(mask)
        if len(comps) > 1:
            mask = set(comps[0])
            changed = True
        outside = {(i, j) for i in range(-1, NC + 1) for j in range(-1, NR + 1)} - mask
        reach = next(c for c in components4(outside) if (-1, -1) in c)
        holes = outside - set(reach)
        if holes:
            mask |= holes
            changed = True
        for i in range(-1, NC):
            for j in range(-1, NR):
                a, b, c, d = (i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)
                for p, q, r, s in ((a, d, b, c), (b, c, a, d)):
                    if p in mask and q in mask and r not in mask and s not in mask:
                        mask.add(r if r in inside else s)
                        changed = True
        if not changed:
            return mask
    raise RuntimeError("city outline did not settle")


def repair(label: dict[Cell, Any], parent: dict[Cell, Any] | None, min_size: int) -> None:
    """Make every label one 4-connected piece of at least ``min_size`` cells with no
    corner-only contacts, by moving stray pieces to the neighbouring label (same parent)
    they share most edges with."""
    for _ in range(20000):
        if _merge_one(label, parent, min_size) or _fix_one_pinch(label, parent):
            continue
        return
    raise RuntimeError("region repair did not settle")


def _merge_one(label: dict[Cell, Any], parent: dict[Cell, Any] | None, min_size: int) -> bool:
    groups: dict[Any, list[Cell]] = defaultdict(list)
    for cell in sorted(label):
        groups[label[cell]].append(cell)
    for lab in sorted(groups):
        comps = components4(groups[lab])
        todo = comps[1:] + (comps[:1] if len(comps[0]) < min_size else [])
        for comp in todo:
            par = parent[comp[0]] if parent else None
            counts: Counter[Any] = Counter()
            for cell in comp:
                for nb in neighbours4(cell):
                    if nb in label and label[nb] != lab and (not parent or parent[nb] == par):
                        counts[label[nb]] += 1
            if counts:
                target = min(counts, key=lambda k: (-counts[k], k))
                for cell in comp:
                    label[cell] = target
                return True
    return False


def _fix_one_pinch(label: dict[Cell, Any], parent: dict[Cell, Any] | None) -> bool:
    for i in range(-1, NC):
        for j in range(-1, NR):
            a, b, c, d = (i, j), (i + 1, j), (i, j + 1), (i + 1, j + 1)
            for p, q, r, s in ((a, d, b, c), (b, c, a, d)):
                lp = label.get(p)
                if lp is None or label.get(q) != lp or label.get(r) == lp or label.get(s) == lp:
                    continue
                for x in (r, s):
                    if x in label and (not parent or parent[x] == parent[p]):
                        label[x] = lp
                        return True
                raise RuntimeError(f"cannot remove the corner contact at {p}/{q}")
    return False


def _band(lines: list[int], k: int) -> int:
    """Index of the band between consecutive ``lines`` holding cell index ``k``."""
    return int(np.searchsorted(lines, k, side="right")) - 1


def partition(lattice: Lattice, mask: set[Cell]) -> tuple[dict, dict, dict]:
    """District, street and community label of each cell; boundaries follow main roads."""
    cells = sorted(mask)
    n = len(cells)
    # District lines, on main roads: a column line leaving ~60 % of the city to the west, and
    # a row line cutting the west in two halves. Street boundaries are every second main road
    # counted from the district lines, so districts are unions of streets.
    inner_cols, inner_rows = lattice.col_mains[1:-1], lattice.row_mains[1:-1]
    xd = min(inner_cols, key=lambda x: (abs(sum(i < x for i, _ in cells) / n - 0.6), x))
    west = [c for c in cells if c[0] < xd]
    yd = min(inner_rows,
             key=lambda y: (abs(sum(j < y for _, j in west) / len(west) - 0.5), y))
    kx, ky = lattice.col_mains.index(xd), lattice.row_mains.index(yd)
    col_art = sorted({m for k, m in enumerate(lattice.col_mains) if (k - kx) % 2 == 0} | {0, NC})
    row_art = sorted({m for k, m in enumerate(lattice.row_mains) if (k - ky) % 2 == 0} | {0, NR})
    lattice.col_art, lattice.row_art = col_art, row_art
    district = {c: (0 if c[1] < yd else 1) if c[0] < xd else 2 for c in cells}
    repair(district, None, 1)
    street = {c: (district[c], _band(col_art, c[0]), _band(row_art, c[1])) for c in cells}
    repair(street, district, 60)
    community = {c: (street[c], _band(lattice.col_mains, c[0]), _band(lattice.row_mains, c[1]))
                 for c in cells}
    repair(community, street, 16)
    return district, street, community


# --------------------------------------------------------------------------------------------
# Geometry output helpers

def canonical_polygon(geom: shapely.Geometry) -> shapely.Polygon:
    """Counter-clockwise exterior (RFC 7946) starting at its lowest-left vertex."""
    if geom.geom_type != "Polygon" or len(geom.interiors) or not geom.is_valid:
        raise RuntimeError(f"region is not a single valid polygon without holes: {geom.wkt[:80]}")
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    ring = np.asarray(geom.exterior.coords)[:-1]
    k = min(range(len(ring)), key=lambda m: (ring[m][0], ring[m][1]))
    ring = np.vstack([ring[k:], ring[:k], ring[k:k + 1]])
    return shapely.Polygon(ring)


def geometry_json(geom: shapely.Geometry) -> dict[str, Any]:
    def pts(coords: Any) -> list[list[float]]:
        return [[float(a), float(b)] for a, b in rnd(np.asarray(coords)[:, :2]).tolist()]

    if geom.geom_type == "Point":
        return {"type": "Point", "coordinates": pts([[geom.x, geom.y]])[0]}
    if geom.geom_type == "LineString":
        return {"type": "LineString", "coordinates": pts(geom.coords)}
    if geom.geom_type == "Polygon":
        rings = [geom.exterior, *geom.interiors]
        return {"type": "Polygon", "coordinates": [pts(r.coords) for r in rings]}
    raise ValueError(geom.geom_type)


def feature(props: dict[str, Any], geom: shapely.Geometry) -> dict[str, Any]:
    return {"type": "Feature", "properties": props, "geometry": geometry_json(geom)}


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def write_collection(path: Path, features: list[dict[str, Any]]) -> None:
    body = ",\n".join(dumps(f) for f in features)
    path.write_text('{"type":"FeatureCollection","features":[\n' + body + "\n]}\n",
                    encoding="utf-8", newline="\n")


def write_list(path: Path, items: list[dict[str, Any]]) -> None:
    body = ",\n".join(dumps(x) for x in items)
    path.write_text("[\n" + body + "\n]\n", encoding="utf-8", newline="\n")


# --------------------------------------------------------------------------------------------
# Roads

Edge = tuple[str, int, int]  # ("v", i, j): column line i, vertex (i,j)→(i,j+1), northward
#                              ("h", i, j): row line j, vertex (i,j)→(i+1,j), eastward


def edge_cells(e: Edge) -> tuple[Cell, Cell]:
    """(left cell, right cell) of an edge, looking along its direction."""
    axis, i, j = e
    return ((i - 1, j), (i, j)) if axis == "v" else ((i, j), (i, j - 1))


def edge_vertices(e: Edge) -> tuple[tuple[int, int], tuple[int, int]]:
    axis, i, j = e
    return ((i, j), (i, j + 1)) if axis == "v" else ((i, j), (i + 1, j))


@dataclass
class Road:
    axis: str
    line: int
    cls: int
    edges: list[Edge]
    code: str = ""
    name: str = ""
    name_en: str = ""
    width: float = 0.0
    sidewalk: float = 0.0
    commercial: bool = False

    @property
    def hw(self) -> float:
        return self.width / 2

    @property
    def vertices(self) -> list[tuple[int, int]]:
        return [edge_vertices(self.edges[0])[0]] + [edge_vertices(e)[1] for e in self.edges]


def build_roads(rng: np.random.Generator, lattice: Lattice, mask: set[Cell]) -> list[Road]:
    roads: list[Road] = []
    for axis, classes, cross, n_along in (("v", lattice.col_cls, lattice.row_cls, NR),
                                          ("h", lattice.row_cls, lattice.col_cls, NC)):
        for line, cls in enumerate(classes):
            if cls == NONE:
                continue
            run: list[Edge] = []
            for k in range(n_along + 1):
                e: Edge | None = None
                if k < n_along:
                    e = ("v", line, k) if axis == "v" else ("h", k, line)
                    left, right = edge_cells(e)
                    if left not in mask and right not in mask:
                        e = None
                split = e is None or (cls == BRANCH and cross[k] == MAIN and run)
                if split and run:
                    if cls != BRANCH or len(run) >= 2:
                        roads.append(Road(axis, line, int(cls), run))
                    run = []
                if e is not None:
                    run.append(e)
    rank = {MAIN: 0, SEC: 1, BRANCH: 2}
    roads.sort(key=lambda r: (rank[r.cls], r.axis, r.line, r.edges[0]))
    if len(roads) > 999:
        raise RuntimeError("too many roads for R001 codes")
    col_art, row_art = set(lattice.col_art), set(lattice.row_art)
    artery_words = [ARTERY_WORDS[k] for k in rng.permutation(len(ARTERY_WORDS))]
    lane_names = [(w + s, f"{we} {se}") for w, we in LANE_WORDS for s, se in LANE_SUFFIXES]
    lane_names = [lane_names[k] for k in rng.permutation(len(lane_names))]
    line_names: dict[tuple[str, int], tuple[str, str, float, float]] = {}
    for k, road in enumerate(roads):
        road.code = f"R{k + 1:03d}"
        key = (road.axis, road.line)
        if road.cls == BRANCH:
            road.name, road.name_en = lane_names.pop()
            road.width, road.sidewalk = float(pick(rng, [9.0, 12.0])), 2.5
            road.commercial = bool(rng.random() < 0.45)
            continue
        if key not in line_names:
            zh, en = artery_words.pop()
            arterial = road.line in (col_art if road.axis == "v" else row_art)
            if road.cls == MAIN and arterial:
                line_names[key] = (zh + "大道", en + " Avenue", 36.0, 5.0)
            elif road.cls == MAIN:
                line_names[key] = (zh + "路", en + " Road", 30.0, 4.5)
            else:
                line_names[key] = (zh + "路", en + " Road", float(pick(rng, [20.0, 24.0])), 4.0)
        road.name, road.name_en, road.width, road.sidewalk = line_names[key]
        road.commercial = True
    return roads


# --------------------------------------------------------------------------------------------
# Placement along roads

@dataclass
class Placed:
    kind: str  # type code, or "shop"
    road: Road
    s: float  # distance along the road from its start (m)
    side: int  # +1 left, -1 right
    cell: Cell
    xy: tuple[float, float]
    extra: dict[str, Any] = field(default_factory=dict)


class Geo:
    """Metric helpers on the georeferenced lattice."""

    def __init__(self, lattice: Lattice, mask: set[Cell], edge_road: dict[Edge, Road]):
        self.lattice = lattice
        self.mask = mask
        self.edge_road = edge_road

    def xy(self, vertex: tuple[int, int]) -> np.ndarray:
        i, j = vertex
        return np.array([self.lattice.x[i, j], self.lattice.y[i, j]])

    def frame(self, e: Edge) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Start point, unit tangent, left unit normal and length of an edge."""
        p0, p1 = (self.xy(v) for v in edge_vertices(e))
        d = p1 - p0
        length = float(np.hypot(*d))
        t = d / length
        return p0, t, np.array([-t[1], t[0]]), length

    def crossing(self, road: Road, vertex: tuple[int, int]) -> list[Road]:
        """Roads crossing ``road`` at a vertex (on the perpendicular line)."""
        i, j = vertex
        keys: list[Edge] = ([("h", i - 1, j), ("h", i, j)] if road.axis == "v"
                            else [("v", i, j - 1), ("v", i, j)])
        found = {self.edge_road[k].code: self.edge_road[k] for k in keys if k in self.edge_road}
        return [found[c] for c in sorted(found)]

    def cross_hw(self, road: Road, vertex: tuple[int, int]) -> float:
        return max((r.hw for r in self.crossing(road, vertex)), default=0.0)


def run_positions(geo: Geo, road: Road) -> tuple[list[float], list[np.ndarray]]:
    """Cumulative distance at each vertex of the road and the vertices' UTM coordinates."""
    pts = [geo.xy(v) for v in road.vertices]
    cum = [0.0]
    for a, b in itertools.pairwise(pts):
        cum.append(cum[-1] + float(np.hypot(*(b - a))))
    return cum, pts


def point_on(geo: Geo, road: Road, cum: list[float], s: float, d: float, side: int,
             extra_margin: float = 0.0) -> tuple[tuple[float, float], Cell] | None:
    """The point ``d`` metres to one side of the centreline at distance ``s`` along the road,
    or None when it falls too near a junction or on a side outside the city."""
    k = min(int(np.searchsorted(cum, s, side="right")) - 1, len(road.edges) - 1)
    e = road.edges[k]
    p0, t, n, length = geo.frame(e)
    a = s - cum[k]
    v0, v1 = edge_vertices(e)
    m0 = max(geo.cross_hw(road, v0) + 1.0, 0.6 * d + 1.5) + extra_margin
    m1 = max(geo.cross_hw(road, v1) + 1.0, 0.6 * d + 1.5) + extra_margin
    if a < m0 or a > length - m1:
        return None
    left, right = edge_cells(e)
    cell = left if side > 0 else right
    if cell not in geo.mask:
        return None
    p = p0 + t * a + n * (side * d)
    return (float(p[0]), float(p[1])), cell


def place_along_roads(rng: np.random.Generator, geo: Geo, roads: list[Road]) -> list[Placed]:
    out: list[Placed] = []
    for road in roads:
        cum, _ = run_positions(geo, road)
        total = cum[-1]
        # Street lights every ~30 m: staggered on main/secondary roads, one side on lanes.
        count = 0
        s = LIGHT_SPACING_M / 2
        while s < total:
            sides = [1, -1] if road.cls == BRANCH or count % 2 == 0 else [-1, 1]
            for side in sides:
                hit = point_on(geo, road, cum, s, road.hw + 0.5, side)
                if hit:
                    out.append(Placed("0122", road, s, side, hit[1], hit[0]))
                    count += 1
                    break
            s += LIGHT_SPACING_M
        # Manhole covers every ~70 m, mixed utilities at their usual offsets.
        s = MANHOLE_SPACING_M * 0.35
        while s < total:
            t = MANHOLE_TYPES[int(rng.choice(5, p=MANHOLE_WEIGHTS[road.cls]))]
            hw, sw = road.hw, road.sidewalk
            d = {"0101": max(2.5, hw * 0.5), "0102": 1.8, "0103": hw - 1.0,
                 "0105": hw + 0.4 * sw, "0107": hw + 0.7 * sw}[t]
            first = 1 if rng.random() < 0.5 else -1
            for side in (first, -first):
                hit = point_on(geo, road, cum, s + float(rng.uniform(-6, 6)), d, side)
                if hit:
                    out.append(Placed(t, road, s, side, hit[1], hit[0],
                                      {"device": bool(rng.random() < MANHOLE_DEVICE_SHARE)}))
                    break
            s += MANHOLE_SPACING_M + float(rng.uniform(-10, 10))
    return out


def place_sampled(rng: np.random.Generator, geo: Geo, roads: list[Road], kind: str, n: int,
                  frac: float, d_extra: float) -> list[Placed]:
    """``n`` items on distinct road edges, chosen at random, at ``frac`` along the edge."""
    candidates = []
    for road in roads:
        cum, _ = run_positions(geo, road)
        for k, e in enumerate(road.edges):
            for side in (1, -1):
                cell = edge_cells(e)[0 if side > 0 else 1]
                if cell in geo.mask:
                    candidates.append((road, cum, k, side))
    out: list[Placed] = []
    for idx in rng.permutation(len(candidates)):
        road, cum, k, side = candidates[int(idx)]
        s = cum[k] + frac * (cum[k + 1] - cum[k])
        hit = point_on(geo, road, cum, s, road.hw + d_extra, side)
        if hit:
            out.append(Placed(kind, road, s, side, hit[1], hit[0]))
        if len(out) == n:
            break
    return out


def place_cameras(rng: np.random.Generator, geo: Geo, roads: list[Road]) -> list[Placed]:
    """One camera at each junction of two main/secondary roads, on one corner."""
    lattice = geo.lattice
    out: list[Placed] = []
    by_line = {(r.axis, r.line): r for r in roads if r.cls in (MAIN, SEC)}
    for i in range(NC + 1):
        for j in range(NR + 1):
            if lattice.col_cls[i] < SEC or lattice.row_cls[j] < SEC:
                continue
            v_edges = [e for e in (("v", i, j - 1), ("v", i, j)) if e in geo.edge_road]
            h_edges = [e for e in (("h", i - 1, j), ("h", i, j)) if e in geo.edge_road]
            if not v_edges or not h_edges:
                continue
            vroad = geo.edge_road[v_edges[0]]
            hroad = geo.edge_road[h_edges[0]]
            if (vroad.axis, vroad.line) not in by_line or (hroad.axis, hroad.line) not in by_line:
                continue
            quads = [(di, dj) for di in (-1, 1) for dj in (-1, 1)
                     if (i + (di - 1) // 2, j + (dj - 1) // 2) in geo.mask]
            if not quads:
                continue
            di, dj = quads[int(rng.integers(len(quads)))]
            cell = (i + (di - 1) // 2, j + (dj - 1) // 2)
            # Corner point: (hw + 2.5 m) off each centreline, along the local axes.
            a = math.radians(ROTATION_DEG)
            eu = np.array([math.cos(a), math.sin(a)])
            ev = np.array([-math.sin(a), math.cos(a)])
            p = geo.xy((i, j)) + eu * di * (vroad.hw + 2.5) + ev * dj * (hroad.hw + 2.5)
            cum, _ = run_positions(geo, vroad)
            s = cum[[v for v in vroad.vertices].index((i, j))]
            out.append(Placed("0125", vroad, s, di, cell, (float(p[0]), float(p[1])),
                              {"cross": hroad}))
    return out


def place_shops(rng: np.random.Generator, geo: Geo, roads: list[Road]) -> list[Placed]:
    """Shops along commercial road frontages: door on the building line, zone to the kerb."""
    out: list[Placed] = []
    for road in roads:
        if not road.commercial:
            continue
        cum, _ = run_positions(geo, road)
        p_shop = {MAIN: 0.09, SEC: 0.12, BRANCH: 0.10}[road.cls]
        for k, e in enumerate(road.edges):
            p0, t, n, length = geo.frame(e)
            for side in (1, -1):
                cell = edge_cells(e)[0 if side > 0 else 1]
                if cell not in geo.mask:
                    continue
                pos = SHOP_MARGIN_M + float(rng.uniform(0, 4))
                while True:
                    w = float(rng.uniform(6.0, 15.0))
                    if pos + w > length - SHOP_MARGIN_M:
                        break
                    if rng.random() < p_shop:
                        kerb, front = road.hw, road.hw + road.sidewalk
                        corners = [p0 + t * a + n * (side * d)
                                   for a, d in ((pos, kerb), (pos + w, kerb),
                                                (pos + w, front), (pos, front))]
                        if side < 0:
                            corners.reverse()
                        mid = pos + w / 2
                        door = p0 + t * mid + n * (side * (front + 0.5))
                        sign = p0 + t * mid + n * (side * (front + 0.2))
                        out.append(Placed("shop", road, cum[k] + mid, side, cell,
                                          (float(door[0]), float(door[1])),
                                          {"zone": [tuple(c) for c in corners],
                                           "sign": (float(sign[0]), float(sign[1]))}))
                    pos += w + float(rng.uniform(0.5, 3.0))
    return out


def address_near(geo: Geo, road: Road, s: float) -> str:
    """``"<road> 近 <nearest crossing road>"``."""
    cum, _ = run_positions(geo, road)
    best: tuple[float, str] | None = None
    for v, sv in zip(road.vertices, cum, strict=True):
        for other in geo.crossing(road, v):
            if other.name != road.name and (best is None or abs(sv - s) < best[0]):
                best = (abs(sv - s), other.name)
    return f"{road.name} 近 {best[1]}" if best else road.name


# --------------------------------------------------------------------------------------------
# Shop identity

def shop_name(rng: np.random.Generator, category: str, road: Road, used: set[str]) -> str:
    pattern = pick(rng, SHOP_KINDS[category][1])
    word = road.name.removesuffix("大道").removesuffix("路")
    for suffix in ("街", "巷", "一巷", "二巷", "三巷", "横街", "直街"):
        if road.cls == BRANCH and road.name.endswith(suffix):
            word = road.name[: -len(suffix)]
    name = pattern.format(s=pick(rng, SURNAMES), f=pick(rng, FOODS), b=pick(rng, STORE_BRANDS),
                          l=pick(rng, LUCKY), w=word)
    if name in used:
        name = f"{name}（{road.name}店）"
    k = 2
    base = name
    while name in used:
        name = f"{base}{k}"
        k += 1
    used.add(name)
    return name


# --------------------------------------------------------------------------------------------
# Main


def generate(out_dir: Path) -> dict[str, int]:
    rng = np.random.default_rng(SEED)
    lattice = build_lattice(rng)
    to_utm, _ = georeference(lattice)
    mask = city_mask(rng, lattice)
    district_of, street_of, community_of = partition(lattice, mask)
    cells = sorted(mask)
    cu, cv = cell_centres(lattice)

    def utm_area(geoms: Any) -> np.ndarray:
        def fwd(xy: np.ndarray) -> np.ndarray:
            return np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))

        return shapely.area(shapely.transform(geoms, fwd))

    # ---- cells → grid polygons from the shared rounded vertices
    def cell_ring(c: Cell) -> np.ndarray:
        i, j = c
        vs = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1), (i, j)]
        return np.array([[lattice.lon[v], lattice.lat[v]] for v in vs])

    cell_poly = dict(zip(cells, shapely.polygons(np.stack([cell_ring(c) for c in cells])),
                         strict=True))
    if not all(shapely.is_valid(list(cell_poly.values()))):
        raise RuntimeError("a grid polygon is invalid")

    # ---- regions: order, codes, names
    def centroid_key(group: list[Cell]) -> tuple[float, float]:
        return (-round(float(np.mean([cv[c] for c in group])), 3),
                round(float(np.mean([cu[c] for c in group])), 3))

    def groups_of(label: dict[Cell, Any]) -> dict[Any, list[Cell]]:
        g: dict[Any, list[Cell]] = defaultdict(list)
        for c in cells:
            g[label[c]].append(c)
        return g

    d_groups, s_groups, c_groups = groups_of(district_of), groups_of(street_of), groups_of(
        community_of)
    if sorted(d_groups) != [0, 1, 2]:
        raise RuntimeError("a district vanished")
    region_code: dict[Any, str] = {}
    region_name: dict[Any, tuple[str, str]] = {}
    for k, (code, zh, en) in enumerate(DISTRICTS):
        region_code[("d", k)] = code
        region_name[("d", k)] = (zh, f"{en} District")
    street_names = list(STREET_NAMES)
    community_names = [COMMUNITY_NAMES[k] for k in rng.permutation(len(COMMUNITY_NAMES))]
    streets_by_district: dict[int, list[Any]] = defaultdict(list)
    for lab in s_groups:
        streets_by_district[district_of[s_groups[lab][0]]].append(lab)
    communities_by_street: dict[Any, list[Any]] = defaultdict(list)
    for lab in c_groups:
        communities_by_street[street_of[c_groups[lab][0]]].append(lab)
    ordered_streets: list[Any] = []
    ordered_communities: list[Any] = []
    for dk in range(3):
        labs = sorted(streets_by_district[dk], key=lambda lab: centroid_key(s_groups[lab]))
        for n, lab in enumerate(labs, 1):
            region_code[("s", lab)] = f"{DISTRICTS[dk][0]}{n:03d}"
            zh, en = street_names.pop(0)
            region_name[("s", lab)] = (zh + "街道", f"{en} Subdistrict")
            ordered_streets.append(lab)
    for slab in ordered_streets:
        labs = sorted(communities_by_street[slab], key=lambda lab: centroid_key(c_groups[lab]))
        for n, lab in enumerate(labs, 1):
            region_code[("c", lab)] = f"{region_code[('s', slab)]}{n:03d}"
            zh, en = community_names.pop(0)
            region_name[("c", lab)] = (zh + "社区", f"{en} Community")
            ordered_communities.append(lab)

    # ---- grids: codes within each community, north-west first
    grid_code: dict[Cell, str] = {}
    grid_name: dict[Cell, str] = {}
    for lab in ordered_communities:
        ccode = region_code[("c", lab)]
        members = sorted(c_groups[lab], key=lambda c: (-c[1], c[0]))
        if len(members) > 999:
            raise RuntimeError("community too large for 3-digit grid numbers")
        for n, c in enumerate(members, 1):
            grid_code[c] = f"{ccode}{n:03d}"
            grid_name[c] = f"{region_name[('c', lab)][0]}第{n:03d}网格"

    # ---- inspectors: one per community, two small neighbouring communities share one
    inspector_of_community: dict[Any, str] = {}
    n_insp = 0
    pending: Any = None
    for lab in ordered_communities:
        size = len(c_groups[lab])
        if (pending is not None and street_of[c_groups[pending][0]] == street_of[c_groups[lab][0]]
                and len(c_groups[pending]) + size <= 50):
            inspector_of_community[lab] = inspector_of_community[pending]
            pending = None
            continue
        n_insp += 1
        inspector_of_community[lab] = f"inspector{n_insp:02d}"
        pending = lab if size < 25 else None

    # ---- region features
    region_feats: list[dict[str, Any]] = []
    region_geoms: dict[str, shapely.Polygon] = {}

    def union(group: list[Cell]) -> shapely.Polygon:
        return canonical_polygon(shapely.coverage_union_all([cell_poly[c] for c in group]))

    levels = [("district", "d", [0, 1, 2], d_groups, lambda lab: CITY_CODE),
              ("street", "s", ordered_streets, s_groups,
               lambda lab: region_code[("d", lab[0])]),
              ("community", "c", ordered_communities, c_groups,
               lambda lab: region_code[("s", lab[0])])]
    for level, tag, labs, groups, parent_code in levels:
        polys = {lab: union(groups[lab]) for lab in labs}
        areas = utm_area(list(polys.values()))
        for (lab, geom), area in zip(polys.items(), areas, strict=True):
            code = region_code[(tag, lab)]
            zh, en = region_name[(tag, lab)]
            region_geoms[code] = geom
            region_feats.append(feature({"code": code, "level": level, "name": zh, "name_en": en,
                                         "parent_code": parent_code(lab),
                                         "area_m2": round(float(area), 1)}, geom))
    city_geom = canonical_polygon(shapely.coverage_union_all(list(cell_poly.values())))

    # ---- grid features
    grid_areas = dict(zip(cells, utm_area([cell_poly[c] for c in cells]), strict=True))
    grid_feats = []
    for c in sorted(cells, key=lambda c: grid_code[c]):
        lab = community_of[c]
        grid_feats.append(feature({
            "code": grid_code[c], "community_code": region_code[("c", lab)],
            "name": grid_name[c], "area_m2": round(float(grid_areas[c]), 1),
            "inspector": inspector_of_community[lab]}, cell_poly[c]))

    # ---- roads
    roads = build_roads(rng, lattice, mask)
    edge_road = {e: r for r in roads for e in r.edges}
    geo = Geo(lattice, mask, edge_road)
    road_feats = []
    for r in roads:
        vs = r.vertices
        line = shapely.LineString([(lattice.lon[v], lattice.lat[v]) for v in vs])
        road_feats.append(feature({"code": r.code, "name": r.name, "name_en": r.name_en,
                                   "class": CLASS_NAME[r.cls], "width_m": r.width}, line))

    # ---- components and shops
    placed = place_along_roads(rng, geo, roads)
    placed += place_cameras(rng, geo, roads)
    placed += place_sampled(rng, geo, roads, "0308", N_BINS, 0.62, 1.2)
    placed += place_sampled(rng, geo, roads, "0117", N_HYDRANTS, 0.27, 0.8)
    shops = place_shops(rng, geo, roads)

    to_wgs = Transformer.from_crs(UTM_EPSG, 4326, always_xy=True)

    def lonlat(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        if not points:
            return []
        xs, ys = to_wgs.transform(*np.array(points).T)
        return list(zip(rnd(xs).tolist(), rnd(ys).tolist(), strict=True))

    # Shop zones: drop any shop whose zone would touch an earlier one (never expected).
    shops.sort(key=lambda p: (p.road.code, round(p.s, 3), p.side))
    zone_polys = [shapely.Polygon(lonlat(p.extra["zone"])) for p in shops]
    tree = shapely.STRtree(zone_polys)
    dropped: set[int] = set()
    for a, b in zip(*tree.query(zone_polys, predicate="intersects"), strict=True):
        if a < b and a not in dropped:
            dropped.add(int(b))
    keep = [k for k in range(len(shops)) if k not in dropped and zone_polys[k].is_valid]
    zones_dropped = len(shops) - len(keep)
    shops = [shops[k] for k in keep]
    zone_polys = [zone_polys[k] for k in keep]

    # Every point must lie strictly inside the grid polygon of the cell it was placed in.
    def strictly_inside(items: list[Placed], pts: list[tuple[float, float]]) -> list[bool]:
        geoms = shapely.points(np.array(pts)) if pts else np.array([])
        polys = [cell_poly[p.cell] for p in items]
        return list(shapely.contains_properly(polys, geoms))

    pts = lonlat([p.xy for p in placed])
    ok = strictly_inside(placed, pts)
    placed = [p for p, good in zip(placed, ok, strict=True) if good]
    pts = [q for q, good in zip(pts, ok, strict=True) if good]
    lost = ok.count(False)
    shop_pts = lonlat([p.xy for p in shops])
    sign_pts = lonlat([p.extra["sign"] for p in shops])
    ok_shop = [a and b for a, b in zip(strictly_inside(shops, shop_pts),
                                       strictly_inside(shops, sign_pts), strict=True)]
    lost += ok_shop.count(False)
    shops = [p for p, good in zip(shops, ok_shop, strict=True) if good]
    zone_polys = [z for z, good in zip(zone_polys, ok_shop, strict=True) if good]
    shop_pts = [q for q, good in zip(shop_pts, ok_shop, strict=True) if good]
    sign_pts = [q for q, good in zip(sign_pts, ok_shop, strict=True) if good]

    def district_code_of(cell: Cell) -> str:
        return region_code[("d", district_of[cell])]

    def street_code_of(cell: Cell) -> str:
        return region_code[("s", street_of[cell])]

    # Shop records
    used_names: set[str] = set()
    used_licences: set[str] = set()
    house_no: Counter[tuple[str, int]] = Counter()
    shop_feats, zone_feats, shop_records = [], [], []
    categories = list(SHOP_KINDS)
    weights = np.array([SHOP_KINDS[c][0] for c in categories])
    weights = weights / weights.sum()
    for n, (p, pt, zone) in enumerate(zip(shops, shop_pts, zone_polys, strict=True), 1):
        code = f"S{n:08d}"
        category = categories[int(rng.choice(len(categories), p=weights))]
        name = shop_name(rng, category, p.road, used_names)
        licence = uscc(rng, district_code_of(p.cell))
        while licence in used_licences:
            licence = uscc(rng, district_code_of(p.cell))
        used_licences.add(licence)
        parity = 1 if p.side > 0 else 0
        house_no[(p.road.name, parity)] += 1
        number = 2 * house_no[(p.road.name, parity)] - parity
        props = {"code": code, "name": name, "category": category, "licence_no": licence,
                 "address": f"{p.road.name}{number}号", "owner_name": person_name(rng),
                 "owner_phone": phone(rng), "grid_code": grid_code[p.cell],
                 "street_code": street_code_of(p.cell)}
        shop_feats.append(feature(props, shapely.Point(pt)))
        zone_feats.append(feature({"shop_code": code}, canonical_zone(zone)))
        shop_records.append((p, code, name))

    # Component records: signboards at the shop doors, then the rest.
    items: list[tuple[Placed, tuple[float, float], str]] = []
    for p, pt in zip(placed, pts, strict=True):
        items.append((p, pt, ""))
    for (p, _code, name), spt in zip(shop_records, sign_pts, strict=True):
        items.append((Placed("0305", p.road, p.s, p.side, p.cell, p.xy), spt, name))

    def sort_key(item: tuple[Placed, tuple[float, float], str]) -> tuple:
        p, pt, _ = item
        return (p.road.code, round(p.s, 3), p.side, pt)

    items.sort(key=sort_key)
    seq: Counter[tuple[str, str]] = Counter()
    per_road: Counter[tuple[str, str]] = Counter()
    records = []
    for p, pt, shop in items:
        dcode = district_code_of(p.cell)
        seq[(dcode, p.kind)] += 1
        code = f"{dcode}{p.kind}{seq[(dcode, p.kind)]:06d}"
        tname = COMPONENT_TYPES[p.kind][0]
        if p.kind == "0305":
            name = f"{shop}{tname}"
        elif p.kind == "0125":
            name = f"{p.road.name}与{p.extra['cross'].name}路口{tname}"
        else:
            per_road[(p.road.name, p.kind)] += 1
            name = f"{p.road.name}{tname}{per_road[(p.road.name, p.kind)]:04d}"
        if p.kind == "0125":
            address = f"{p.road.name} 近 {p.extra['cross'].name}"
        else:
            address = address_near(geo, p.road, p.s)
        has_device = p.extra.get("device", True)
        records.append((code, p, pt, name, address, has_device))
    records.sort(key=lambda r: r[0])
    dev_seq: Counter[str] = Counter()
    comp_feats = []
    for code, p, pt, name, address, has_device in records:
        prefix = COMPONENT_TYPES[p.kind][2]
        device = None
        if has_device:
            dev_seq[prefix] += 1
            device = f"{prefix}-{dev_seq[prefix]:06d}"
        comp_feats.append(feature({"code": code, "type_code": p.kind, "name": name,
                                   "department": COMPONENT_TYPES[p.kind][1],
                                   "device_code": device, "address": address,
                                   "grid_code": grid_code[p.cell]}, shapely.Point(pt)))

    # ---- departments, users, trackers
    departments = [{"code": c, "name": zh, "name_en": en, "kind": kind,
                    "phone": f"0758-22{31 + k:02d}{int(rng.integers(100, 1000))}"}
                   for k, (c, zh, en, kind) in enumerate(DEPARTMENTS)]
    used_people: set[str] = set()

    def unique_person() -> str:
        while True:
            name = person_name(rng)
            if name not in used_people:
                used_people.add(name)
                return name

    users = [{"username": "admin", "display_name": "系统管理员", "role": "admin",
              "department": COMMAND_DEPT, "phone": None}]
    for k in (1, 2):
        users.append({"username": f"command{k:02d}", "display_name": unique_person(),
                      "role": "command", "department": COMMAND_DEPT, "phone": phone(rng)})
    users.append({"username": "leader01", "display_name": unique_person(), "role": "leader",
                  "department": None, "phone": phone(rng)})
    for c, *_ in DEPARTMENTS:
        users.append({"username": f"handler_{c.lower()}", "display_name": unique_person(),
                      "role": "handler", "department": c, "phone": phone(rng)})
    inspectors = []
    for k in range(1, n_insp + 1):
        u = {"username": f"inspector{k:02d}", "display_name": unique_person(),
             "role": "inspector", "department": COMMAND_DEPT, "phone": phone(rng)}
        users.append(u)
        inspectors.append(u)
    trackers = [{"code": f"TRK-INS-{k:02d}", "kind": "inspector", "username": u["username"],
                 "plate": None, "name": f"{u['display_name']}（网格员）",
                 "department": COMMAND_DEPT} for k, u in enumerate(inspectors, 1)]
    plates: set[str] = set()
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    for k in range(1, 13):
        plate = ""
        while not plate or plate in plates:
            plate = f"粤H·{pick(rng, list(letters))}{int(rng.integers(1000, 10000))}"
        plates.add(plate)
        trackers.append({"code": f"TRK-VEH-{k:02d}", "kind": "vehicle", "username": None,
                         "plate": plate, "name": f"城管执法车{k:02d}",
                         "department": ENFORCEMENT_DEPT})

    # ---- city
    minx, miny, maxx, maxy = city_geom.bounds
    centre = city_geom.centroid
    city = {**CITY, "center": [float(v) for v in rnd([centre.x, centre.y])],
            "utm_epsg": UTM_EPSG, "bbox": [float(v) for v in rnd([minx, miny, maxx, maxy])]}
    city = {k: city[k] for k in ("code", "name", "name_en", "center", "utm_epsg", "hotline",
                                 "bbox")}

    # ---- write
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "city.json").write_text(json.dumps(city, ensure_ascii=False, indent=2) + "\n",
                                       encoding="utf-8", newline="\n")
    write_collection(out_dir / "regions.geojson", region_feats)
    write_collection(out_dir / "grids.geojson", grid_feats)
    write_collection(out_dir / "roads.geojson", road_feats)
    write_collection(out_dir / "components.geojson", comp_feats)
    write_collection(out_dir / "shops.geojson", shop_feats)
    write_collection(out_dir / "shop_zones.geojson", zone_feats)
    write_list(out_dir / "departments.json", departments)
    write_list(out_dir / "users.json", users)
    write_list(out_dir / "trackers.json", trackers)
    by_type = Counter(f["properties"]["type_code"] for f in comp_feats)
    return {"districts": 3, "streets": len(ordered_streets),
            "communities": len(ordered_communities), "grids": len(grid_feats),
            "roads": len(road_feats), "components": len(comp_feats), "shops": len(shop_feats),
            "inspectors": n_insp, "points_dropped": lost, "zones_dropped": zones_dropped,
            **{f"type_{k}": by_type[k] for k in sorted(by_type)}}


def canonical_zone(zone: shapely.Polygon) -> shapely.Polygon:
    return shapely.orient_polygons(zone, exterior_cw=False)


def main(argv: list[str] | None = None, report: Callable[[str], None] = print) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        report("usage: python data/demo/generate.py [OUT_DIR]")
        return 2
    out_dir = Path(args[0]) if args else Path(__file__).resolve().parent
    stats = generate(out_dir)
    report(" ".join(f"{k}={v}" for k, v in stats.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
