"""Demo data: Shenzhen's bureau, three district branches, six police stations and 41 points at
real places (WGS84, to within a few tens of metres). Centre codes follow GB/T 2260 (440300
Shenzhen, 440303 Luohu, 440304 Futian, 440305 Nanshan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class DemoUnit:
    centre_code: str
    name: str
    kind: str
    parent: str | None


@dataclass(frozen=True)
class DemoPoint:
    station: str  # centre code of the managing station
    name: str
    address: str
    lat: float
    lon: float
    tags: tuple[str, ...]
    owner: tuple[str, str] | None = None  # (owner_kind, owner_name) for third-party points
    signage: bool = True
    panel: bool = False  # has an intrusion-alarm panel


UNITS: Final = (
    DemoUnit("44030000", "深圳市公安局", "bureau", None),
    DemoUnit("44030400", "福田分局", "branch", "44030000"),
    DemoUnit("44030300", "罗湖分局", "branch", "44030000"),
    DemoUnit("44030500", "南山分局", "branch", "44030000"),
    DemoUnit("44030401", "莲花派出所", "station", "44030400"),
    DemoUnit("44030402", "福田口岸派出所", "station", "44030400"),
    DemoUnit("44030301", "东门派出所", "station", "44030300"),
    DemoUnit("44030302", "笋岗派出所", "station", "44030300"),
    DemoUnit("44030501", "粤海派出所", "station", "44030500"),
    DemoUnit("44030502", "蛇口派出所", "station", "44030500"),
)

_F1, _F2, _L1, _L2, _N1, _N2 = (
    "44030401",
    "44030402",
    "44030301",
    "44030302",
    "44030501",
    "44030502",
)

POINTS: Final = (
    DemoPoint(
        _F1, "市民中心广场", "福田区福中三路市民中心", 22.5437, 114.0544, ("key_unit", "checkpoint")
    ),
    DemoPoint(_F1, "莲花山公园南门", "福田区红荔路6030号", 22.5545, 114.0557, ("scenic_area",)),
    DemoPoint(
        _F1, "深圳中心书城", "福田区福中一路2014号", 22.5462, 114.0530, ("commercial_street",)
    ),
    DemoPoint(_F1, "华强北步行街", "福田区华强北路", 22.5450, 114.0820, ("commercial_street",)),
    DemoPoint(
        _F1,
        "中国银行福田支行",
        "福田区深南中路",
        22.5412,
        114.0630,
        ("bank",),
        owner=("bank", "中国银行深圳市分行"),
        panel=True,
    ),
    DemoPoint(
        _F1,
        "景田小学",
        "福田区景田北路",
        22.5530,
        114.0393,
        ("school",),
        owner=("school", "景田小学"),
        panel=True,
    ),
    DemoPoint(_F1, "车公庙地铁站", "福田区深南大道车公庙", 22.5355, 114.0240, ("transport_hub",)),
    DemoPoint(
        _F2, "福田口岸", "福田区益田路福田口岸", 22.5158, 114.0636, ("checkpoint", "key_unit")
    ),
    DemoPoint(
        _F2, "皇岗口岸", "福田区福强路皇岗口岸", 22.5242, 114.0712, ("checkpoint", "key_unit")
    ),
    DemoPoint(_F2, "深圳会展中心", "福田区福华三路111号", 22.5318, 114.0542, ("key_unit",)),
    DemoPoint(_F2, "福田高铁站", "福田区益田路福田站", 22.5386, 114.0513, ("transport_hub",)),
    DemoPoint(
        _F2,
        "下沙村",
        "福田区下沙村",
        22.5242,
        114.0330,
        ("residential",),
        owner=("community", "下沙社区工作站"),
        signage=False,
    ),
    DemoPoint(
        _F2,
        "福田区人民医院",
        "福田区福强路3025号",
        22.5318,
        114.0700,
        ("hospital",),
        owner=("business", "福田区人民医院"),
    ),
    DemoPoint(_L1, "东门步行街", "罗湖区解放路东门", 22.5467, 114.1166, ("commercial_street",)),
    DemoPoint(
        _L1, "罗湖口岸", "罗湖区人民南路罗湖口岸", 22.5320, 114.1140, ("checkpoint", "key_unit")
    ),
    DemoPoint(_L1, "深圳火车站", "罗湖区建设路1003号", 22.5318, 114.1172, ("transport_hub",)),
    DemoPoint(_L1, "国贸大厦", "罗湖区人民南路3002号", 22.5388, 114.1133, ("commercial_street",)),
    DemoPoint(_L1, "地王大厦", "罗湖区深南东路5002号", 22.5427, 114.1040, ("key_unit",)),
    DemoPoint(
        _L1,
        "工商银行深圳分行",
        "罗湖区深南东路",
        22.5440,
        114.1080,
        ("bank",),
        owner=("bank", "中国工商银行深圳市分行"),
        panel=True,
    ),
    DemoPoint(_L1, "人民公园", "罗湖区人民公园路", 22.5530, 114.1090, ("scenic_area",)),
    DemoPoint(_L2, "洪湖公园", "罗湖区文锦北路洪湖公园", 22.5666, 114.1160, ("scenic_area",)),
    DemoPoint(
        _L2,
        "翠园中学",
        "罗湖区东门北路",
        22.5593,
        114.1228,
        ("school",),
        owner=("school", "翠园中学"),
        panel=True,
    ),
    DemoPoint(
        _L2,
        "水贝珠宝街",
        "罗湖区贝丽南路水贝",
        22.5720,
        114.1220,
        ("commercial_street",),
        owner=("business", "水贝珠宝商会"),
        panel=True,
    ),
    DemoPoint(_L2, "东湖公园", "罗湖区爱国路东湖公园", 22.5630, 114.1390, ("scenic_area",)),
    DemoPoint(_L2, "莲塘口岸", "罗湖区莲塘口岸", 22.5480, 114.1700, ("checkpoint", "key_unit")),
    DemoPoint(
        _L2,
        "罗湖区人民医院",
        "罗湖区友谊路47号",
        22.5550,
        114.1280,
        ("hospital",),
        owner=("business", "罗湖区人民医院"),
    ),
    DemoPoint(
        _L2,
        "布心社区",
        "罗湖区布心路",
        22.5800,
        114.1330,
        ("residential",),
        owner=("community", "布心社区工作站"),
        signage=False,
    ),
    DemoPoint(_N1, "世界之窗", "南山区深南大道9037号", 22.5349, 113.9730, ("scenic_area",)),
    DemoPoint(_N1, "欢乐谷", "南山区侨城西街18号", 22.5395, 113.9803, ("scenic_area",)),
    DemoPoint(_N1, "深圳大学南门", "南山区南海大道3688号", 22.5364, 113.9361, ("school",)),
    DemoPoint(_N1, "南山科技园", "南山区科技园中区", 22.5420, 113.9530, ("key_unit",)),
    DemoPoint(
        _N1,
        "腾讯滨海大厦",
        "南山区后海大道",
        22.5225,
        113.9355,
        ("key_unit",),
        owner=("business", "腾讯公司"),
        panel=True,
    ),
    DemoPoint(
        _N1,
        "南山外国语学校",
        "南山区南海大道",
        22.5360,
        113.9300,
        ("school",),
        owner=("school", "南山外国语学校"),
        panel=True,
    ),
    DemoPoint(_N1, "南山区人民医院", "南山区桃园路89号", 22.5320, 113.9210, ("hospital",)),
    DemoPoint(
        _N2, "深圳湾口岸", "南山区东滨路深圳湾口岸", 22.5055, 113.9440, ("checkpoint", "key_unit")
    ),
    DemoPoint(_N2, "海岸城", "南山区文心五路33号", 22.5170, 113.9360, ("commercial_street",)),
    DemoPoint(_N2, "后海中心", "南山区后海", 22.5220, 113.9430, ("commercial_street",)),
    DemoPoint(_N2, "深圳湾公园", "南山区滨海大道深圳湾公园", 22.5150, 113.9550, ("scenic_area",)),
    DemoPoint(
        _N2, "蛇口码头", "南山区望海路蛇口港", 22.4860, 113.9110, ("transport_hub", "checkpoint")
    ),
    DemoPoint(_N2, "海上世界", "南山区望海路海上世界", 22.4840, 113.9150, ("commercial_street",)),
    DemoPoint(
        _N2,
        "招商银行蛇口支行",
        "南山区太子路",
        22.4900,
        113.9210,
        ("bank",),
        owner=("bank", "招商银行深圳分行"),
        panel=True,
    ),
)
