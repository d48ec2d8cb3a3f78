"""Synthetic demo trial: every table of the data contract, with known (planted) truth.

Why: the pipeline, its notebooks and reports need a realistic trial to run on, and the tests
need data whose true effects are known, so that an analysis can be checked against the truth.
`generate` writes one CSV per table of `psp_eval.data.contract.TABLES` (columns in contract order;
ISO dates, except dd/mm/yyyy in the SSDA903 tables; `true`/`false`; empty cells for missing;
floats at a fixed number of decimals), the hub sheet `hubs.tsv` and `truth.json`. One
`numpy.random.default_rng(seed)` drives every draw in a fixed order, so one seed always gives
byte-identical files.

The demo trial
--------------
* Hubs and LAs: the first five hubs are those of config/hubs.tsv (more English hubs are added
  when `n_hubs` > 5); LAs are shared out evenly across hubs, with invented names and
  ONS-style codes (E09 in London hubs, else E06/E08/E10), child population 20k-120k, a
  deprivation rank 1-317 and a children-looked-after rate (50-110 per 10k) that rises with
  deprivation.
* Referrals: `n_families` families over 24 months from 2024-01-08 (a three-month ramp-up),
  in LAs in proportion to child population times an LA "engagement" factor; 45% edge of care,
  55% emerging need; 85% eligible, 90% of those consent, and 2% of eligible consenting
  families are still not randomised (moved away, lost contact, ...).
* Randomisation 0-21 days after referral, 1:1, stratified by hub and referral group, permuted
  blocks of 2 or 4 in order of randomisation date.
* Children: 1-6 per family (mostly 1-3), numbered eldest first; the index child is 4-10 at
  referral; siblings 0-17; one ethnicity per family.
* Measures (randomised families): SDQ (parent-rated, index child), GAD-7 and MSPSS (parent) at
  baseline (0-7 days before randomisation) and week 8 (56 +/- 7 days after).
* Support (delivery app): 85% of SFFC families and 2% of usual-care families (contamination)
  get hosting (1-10 nights an episode), friendship (hours) and/or resources, the first of
  each type 3-40 days after randomisation, by an active volunteer of the family's hub.
* Care events to 24 months after randomisation (stopping at withdrawal): re-referrals,
  assessments, care entries (and exits), nights away from home. No `referral` events: the
  index referral precedes randomisation.
* Volunteers: 0.2 per referred family in the hub (at least 20), hosts/friends/resources,
  starting 2021-2025, 70% still active 12 months after starting, half with children.
* Surveys (Likert 1-5, one open question coded to themes): SFFC families at week 8 and
  month 12 (60% respond), volunteers at baseline, month 6 and month 12 while active (65%),
  children of host volunteers at baseline and month 12 (50%); 3% item non-response.
* Costs: quarterly hub lines for 2024-2025 (staff, volunteer expenses, training, overheads:
  a fixed part plus a part per SFFC family randomised), central costs, and the cost of
  services as usual for usual-care families; delivery cost about £1,500-£3,000 per SFFC
  family.
* Scotland (optional table scotland_cla, for the Scotland variant of need): six invented
  Scottish LAs, 2018-19 to 2022-23, starts a year and the shares voluntary (s25), short and
  aged 10 or under; drawn from its own generator, so the other tables do not depend on it.
* SSDA903: per LA, children starting to be looked after from 01/04/2019 to the extract date
  31/03/2025, at 8 per 10,000 children a year (about a third of England's rate, to keep the
  demo small); several episodes per period of care (X1-linked), some re-entries, periods
  open at the extract date (DEC and REC empty).
* National SSDA903 (`national_ssda903`, `psp-eval synth --national-903 DIR`; not part of the
  demo trial): the same episodes for about 150 synthetic LAs over ten years, about a million
  episodes, the load of the benchmark's need-at-national-scale figure.

Planted truth (`TRUE_EFFECTS`, also in truth.json)
-------------------------------------------------
* Week 8, SFFC minus usual care, adjusted for baseline: SDQ total difficulties -2.0 points,
  GAD-7 -1.5 points, MSPSS mean +0.4; no effect on SDQ prosocial; the same effect in every
  hub and referral group. These are differences of expected *scored* totals (SDQ: sum of the
  20 difficulty items, reverse items flipped; GAD-7 sum; MSPSS mean item); the latent shift
  that gives each (`latent_shift`, in truth.json) is slightly larger, because bounded items
  absorb part of a shift near the floor or ceiling.
* Re-referral: hazard ratio 0.75 for time to first re-referral (usual care: 30% re-referred
  within 24 months); further re-referrals at the same rate.
* Care entry within 24 months: 12% usual care, 9% SFFC.
* Nights away from home: event rate ratio 0.7 (the nights per event do not differ, so the
  ratio holds for total nights), over a negative-binomial spread between families.
* Week-8 questionnaires missing (whole visit), missing at random given arm and referral
  group: 10% SFFC/emerging, 15% SFFC/edge of care, 15% usual/emerging, 23% usual/edge of
  care (about 15% overall); 2% of item responses missing at random; 1.5% of questionnaires
  skip a run of items, leaving a subscale (or GAD-7) too short to prorate.
* Withdrawal: 5% usual care, 3% SFFC; 20% of those withdraw consent to use their data and
  then have no week-8 measures; no withdrawn family has data dated after its withdrawal.
* SSDA903 profile: 15% of children starting care fit the SFFC profile in their first period
  of care in the extract (aged 10 or under at entry, S20 (LS V2) throughout, the period, over
  its X1-linked episodes, shorter than 14 days); by construction no other period does. The
  realised counts are in truth.json ("realised"/"ssda903").

truth.json holds `seed`, `sizes`, `effects` (= TRUE_EFFECTS), `latent_shifts`, `design`
(dates, windows, allocation, definitions) and `realised` (counts by arm, cost per family,
SSDA903 counts), so an analysis can be checked against the truth without this module.

How item responses are generated
--------------------------------
Latent scores (on each instrument's score scale) are multivariate normal at baseline, with
edge-of-care families 0.25 SD worse; week 8 = baseline mean + change in usual care + rho x
baseline deviation + innovation + a small hub intercept + the calibrated SFFC shift. Each
item's expected score is its share of the latent (SDQ: subscale shares plus a stable
person-level subscale profile; MSPSS: subscale offsets plus profile), clipped to the item's
range, and the response is a binomial draw around it (in the scored direction; SDQ
reverse-scored items are stored raw, i.e. 2 - scored). A scored total thus has the latent as
its expectation (up to clipping), plus item noise; the latent SDs and correlations in
LATENTS leave room for that noise so that observed scores meet the targets (baseline SDQ
mean 16 SD 6, GAD-7 9 SD 5, MSPSS 4.2 SD 1.2; baseline-week-8 r about 0.55).
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from itertools import product
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from psp_eval.data.contract import ARMS, REFERRAL_SOURCES, TABLES
from psp_eval.engine.atomic import temporary_path

DEFAULT_SEED = 20261123

# --- planted truth -----------------------------------------------------------------------
PROFILE_SHARE = 0.15  # seed study: ~15% of children entering care fit the SFFC profile
CARE_ENTRY_RISK = {"usual": 0.12, "sffc": 0.09}  # within 24 months of randomisation
RE_REFERRAL_24M_USUAL = 0.30  # usual care: share re-referred within 24 months
RE_REFERRAL_HR = 0.75
NIGHTS_AWAY_RR = 0.7
WITHDRAWAL_RISK = {"usual": 0.05, "sffc": 0.03}
NO_DATA_CONSENT_SHARE = 0.20  # of withdrawn families
WEEK8_MISSING = {  # whole week-8 visit missing, by (arm, referral_group): MAR
    ("sffc", "emerging"): 0.10,
    ("sffc", "edge_of_care"): 0.15,
    ("usual", "emerging"): 0.15,
    ("usual", "edge_of_care"): 0.23,
}
ITEM_NONRESPONSE = 0.02  # scattered empty item cells
PATCHY_QUESTIONNAIRE = 0.015  # questionnaires skipping a run of items (subscale unscorable)

TRUE_EFFECTS: dict[str, Any] = {
    "sdq_total_difference": -2.0,
    "gad7_difference": -1.5,
    "mspss_difference": 0.4,
    "sdq_prosocial_difference": 0.0,
    "nights_away_rate_ratio": NIGHTS_AWAY_RR,
    "re_referral_hazard_ratio": RE_REFERRAL_HR,
    "re_referral_24m_usual": RE_REFERRAL_24M_USUAL,
    "care_entry_risk": dict(CARE_ENTRY_RISK),
    "profile_share": PROFILE_SHARE,
    "withdrawal_risk": dict(WITHDRAWAL_RISK),
    "no_data_consent_share_of_withdrawn": NO_DATA_CONSENT_SHARE,
    "week8_missing_risk": {f"{a}|{g}": p for (a, g), p in WEEK8_MISSING.items()},
    "item_nonresponse_rate": ITEM_NONRESPONSE,
    "patchy_questionnaire_rate": PATCHY_QUESTIONNAIRE,
}
"""Planted effects (treated minus control at week 8, adjusted for baseline, for scores;
ratios SFFC / usual for events). Documented in the module docstring; do not mutate."""

# --- design ------------------------------------------------------------------------------
TRIAL_START = np.datetime64("2024-01-08", "D")
RECRUITMENT_DAYS = 730  # 24 months of referrals
RAMP_UP_DAYS = 90  # referral rate climbs from a third to full over the first months
MAX_DAYS_TO_RANDOMISATION = 21
BLOCK_SIZES = (2, 4)
FOLLOW_UP_DAYS = 730  # care events to 24 months after randomisation
WEEK8_DAYS, WEEK8_WINDOW = 56, 7
MONTH12_DAYS, MONTH6_DAYS = 365, 182
BASELINE_MAX_DAYS_BEFORE = 7
DELIVERY_DATA_CUT = np.datetime64("2026-03-31", "D")  # delivery app and volunteer extract
DAYS_PER_YEAR = 365.25

HUBS: tuple[tuple[str, str], ...] = (
    # the five demo hubs of config/hubs.tsv, in its order
    ("newcastle", "Newcastle and Tyneside"),
    ("leeds", "Leeds and West Yorkshire"),
    ("birmingham", "Birmingham and Black Country"),
    ("london_east", "East London"),
    ("bristol", "Bristol and the South West"),
    # further English hubs for larger demos
    ("manchester", "Manchester and Salford"),
    ("liverpool", "Liverpool City Region"),
    ("sheffield", "Sheffield and South Yorkshire"),
    ("nottingham", "Nottingham and Nottinghamshire"),
    ("leicester", "Leicester and Leicestershire"),
    ("hull", "Hull and East Riding"),
    ("bradford", "Bradford and Calderdale"),
    ("sunderland", "Sunderland and County Durham"),
    ("teesside", "Middlesbrough and Teesside"),
    ("london_south", "South London"),
    ("london_north", "North London"),
    ("london_west", "West London"),
    ("kent", "Kent and Medway"),
    ("brighton", "Brighton and Sussex"),
    ("southampton", "Southampton and Hampshire"),
    ("portsmouth", "Portsmouth and the Isle of Wight"),
    ("plymouth", "Plymouth and Devon"),
    ("cornwall", "Cornwall and the Isles of Scilly"),
    ("oxford", "Oxford and Oxfordshire"),
    ("reading", "Reading and Berkshire"),
    ("milton_keynes", "Milton Keynes and Buckinghamshire"),
    ("cambridge", "Cambridge and Peterborough"),
    ("norwich", "Norwich and Norfolk"),
    ("ipswich", "Ipswich and Suffolk"),
    ("essex", "Chelmsford and Essex"),
    ("luton", "Luton and Bedfordshire"),
    ("coventry", "Coventry and Warwickshire"),
    ("stoke", "Stoke-on-Trent and Staffordshire"),
    ("derby", "Derby and Derbyshire"),
    ("lincoln", "Lincoln and Lincolnshire"),
    ("york", "York and North Yorkshire"),
    ("preston", "Preston and Lancashire"),
    ("blackpool", "Blackpool and the Fylde Coast"),
    ("carlisle", "Carlisle and Cumbria"),
    ("gloucester", "Gloucester and Gloucestershire"),
    ("swindon", "Swindon and Wiltshire"),
    ("bournemouth", "Bournemouth and Dorset"),
    ("worcester", "Worcester and Herefordshire"),
    ("telford", "Telford and Shropshire"),
    ("chester", "Chester and Cheshire"),
)
HUB_NATION = "England"
HUB_RECRUITMENT_TARGET = 170  # randomised families per hub, as in config/hubs.tsv

# --- local authorities ---------------------------------------------------------------------
N_LA_RANKS = 317  # English LAs in the Index of Multiple Deprivation ranking
LA_CODE_PREFIX = {"E06": 0.4, "E08": 0.3, "E10": 0.3}  # unitary / metropolitan / county
LONDON_LA_CODE_PREFIX = "E09"  # London boroughs
LA_NAME_STEMS = (
    "Ash", "Bram", "Brook", "Cal", "Dun", "Elm", "Fair", "Gran", "Hart", "Holm", "Kings",
    "Lang", "Mill", "North", "Oak", "Pen", "Red", "Rother", "Stan", "Thorn", "Wal", "West",
    "Whit", "Wood", "Ald", "Bly",
)  # fmt: skip
LA_NAME_ENDINGS = (
    "bridge", "ford", "ham", "ley", "ton", "wick", "field", "borough", "bury", "dale",
    "mouth", "stead", "worth", "caster", "by", "minster",
)  # fmt: skip
CHILD_POP_MEDIAN, CHILD_POP_SIGMA, CHILD_POP_RANGE = 50_000, 0.45, (20_000, 120_000)
CLA_RATE_MOST_DEPRIVED, CLA_RATE_DEPRIVATION_SLOPE = 105.0, 45.0  # per 10k, rank 1 vs 317
CLA_RATE_SD, CLA_RATE_RANGE = 8.0, (50.0, 110.0)
LA_ENGAGEMENT_SHAPE = 8.0  # gamma shape: LAs refer at +/- ~35% of their population share

# --- referrals and children ----------------------------------------------------------------
REFERRAL_SOURCE_P = dict(
    zip(REFERRAL_SOURCES, (0.35, 0.20, 0.10, 0.15, 0.04, 0.06, 0.06, 0.04), strict=True)
)
EDGE_OF_CARE_SHARE = 0.45
N_CHILDREN_P = {1: 0.33, 2: 0.32, 3: 0.20, 4: 0.09, 5: 0.04, 6: 0.02}
ELIGIBLE_SHARE, CONSENT_SHARE, LOST_BEFORE_RANDOMISATION = 0.85, 0.90, 0.02
NOT_ELIGIBLE_REASONS = {
    "not eligible: child already looked after": 0.25,
    "not eligible: family lives outside the hub's area": 0.20,
    "not eligible: needs exceed what volunteers can safely offer": 0.30,
    "not eligible: already receiving intensive family support": 0.25,
}
DECLINED_REASON = "declined consent"
LOST_REASONS = {"family moved away": 0.5, "lost contact before randomisation": 0.3,
                "child entered care before randomisation": 0.2}  # fmt: skip
INDEX_AGE_YEARS = (4, 11)  # index child aged 4-10 at referral (SDQ parent version 4-17)
SIBLING_AGE_SD_YEARS = 4.0  # siblings' ages around the index child's
CHILD_AGE_MAX_YEARS = 18  # siblings are under 18
AGE_MARGIN_DAYS = 2  # keeps completed-years ages clear of birthdays despite 365.25-day years
MALE_SHARE = 0.51
ETHNICITY_P = {"white": 0.74, "mixed": 0.07, "asian": 0.10, "black": 0.05, "other": 0.02,
               "not_stated": 0.02}  # fmt: skip


# --- outcomes ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Latent:
    """A latent score on its instrument's scale (see the module docstring)."""

    mean: float  # baseline mean over both referral groups
    sd: float  # below the observed SD target: item noise adds the rest
    rho: float  # baseline-week-8 latent correlation (observed r ~0.55 after item noise)
    usual_change: float  # mean change to week 8 in usual care
    effect: float  # planted SFFC minus usual at week 8, on the scored scale
    worse: int  # +1 when higher is worse, -1 when higher is better


LATENTS: dict[str, _Latent] = {
    "sdq": _Latent(16.0, 5.2, 0.76, -0.5, TRUE_EFFECTS["sdq_total_difference"], +1),
    "prosocial": _Latent(6.5, 1.8, 0.70, 0.0, TRUE_EFFECTS["sdq_prosocial_difference"], -1),
    "gad7": _Latent(9.0, 4.6, 0.70, -0.5, TRUE_EFFECTS["gad7_difference"], +1),
    "mspss": _Latent(4.2, 1.15, 0.62, 0.0, TRUE_EFFECTS["mspss_difference"], -1),
}
LATENT_CORRELATION = np.array(  # order of LATENTS: child difficulties, prosocial, parent
    [  # anxiety, parent's perceived support
        [1.00, -0.35, 0.30, -0.15],
        [-0.35, 1.00, -0.10, 0.10],
        [0.30, -0.10, 1.00, -0.35],
        [-0.15, 0.10, -0.35, 1.00],
    ]
)
EDGE_OF_CARE_SHIFT_SD = 0.25  # edge-of-care families start this many SDs worse
HUB_INTERCEPT_SD = 0.1  # hub variation at week 8, in latent SDs (same effect in every hub)
SDQ_DIFFICULTY_SHARES = {"emotional": 0.25, "conduct": 0.22, "hyperactivity": 0.34, "peer": 0.19}
MSPSS_SUBSCALE_OFFSET = {"significant_other": 0.3, "family": 0.0, "friends": -0.3}
PROFILE_SD = {"sdq": 1.0, "mspss": 0.5}  # person-level subscale profile, stable over time
MEAN_SCORED = ("mspss",)  # latents scored as a mean item; the others as a sum
CALIBRATION_BRACKET, CALIBRATION_STEPS = 3.0, 50  # bisection for the latent shift


@dataclass(frozen=True)
class _Instrument:
    """The item structure the generator needs; tests check it against instruments.yaml."""

    name: str
    rates: str  # "child" or "parent"
    items: int
    low: int
    high: int
    reverse: tuple[int, ...]
    subscales: Mapping[str, tuple[int, ...]]
    patchy_items: int  # items a patchy questionnaire skips within one subscale


INSTRUMENTS: tuple[_Instrument, ...] = (
    _Instrument(
        "sdq", "child", 25, 0, 2, (7, 11, 14, 21, 25),
        {"emotional": (3, 8, 13, 16, 24), "conduct": (5, 7, 12, 18, 22),
         "hyperactivity": (2, 10, 15, 21, 25), "peer": (6, 11, 14, 19, 23),
         "prosocial": (1, 4, 9, 17, 20)},
        3,  # of 5: prorating needs 3
    ),
    _Instrument("gad7", "parent", 7, 0, 3, (), {"total": (1, 2, 3, 4, 5, 6, 7)}, 2),  # 6 of 7
    _Instrument(
        "mspss", "parent", 12, 1, 7, (),
        {"significant_other": (1, 2, 5, 10), "family": (3, 4, 8, 11),
         "friends": (6, 7, 9, 12)},
        2,  # of 4: a subscale needs 3
    ),
)  # fmt: skip
TIMEPOINT_ORDER = ("baseline", "week8")

# --- support and volunteers ----------------------------------------------------------------
SUPPORTED_SHARE = {"sffc": 0.85, "usual": 0.02}  # usual-care share = contamination
SUPPORT_TYPE_P = {"hosting": 0.55, "friendship": 0.70, "resources": 0.45}  # if supported
FIRST_SUPPORT_DAYS = (3, 40)
HOSTING_EXTRA_EPISODES_MEAN, HOSTING_MAX_EPISODES = 1.0, 5
HOSTING_NIGHTS_MAX, HOSTING_NIGHTS_P = 10, 0.2  # nights = 1 + Binomial(9, 0.2): mean 2.8
HOSTING_GAP_DAYS = (7, 45)
FRIENDSHIP_WEEKS, FRIENDSHIP_HOURS_PER_WEEK = (4, 26), (1.0, 3.0)
RESOURCES_EXTRA_MAX, RESOURCES_EXTRA_P, RESOURCES_GAP_DAYS = 2, 0.3, (14, 90)
RESOURCES_NO_VOLUNTEER = 0.4
SUPPORT_ROLE = {"hosting": "host", "friendship": "friend", "resources": "resources"}
VOLUNTEERS_PER_REFERRAL, MIN_VOLUNTEERS = 0.2, 20
VOLUNTEER_ROLE_P = {"host": 0.40, "friend": 0.45, "resources": 0.15}
VOLUNTEER_FIRST_START = np.datetime64("2021-01-01", "D")
VOLUNTEER_LAST_START = np.datetime64("2025-12-31", "D")
VOLUNTEER_PRE_TRIAL_SHARE = 0.45
VOLUNTEER_RETENTION_12M = 0.70
VOLUNTEER_HAS_CHILDREN = 0.50

# --- care events ---------------------------------------------------------------------------
MAX_RE_REFERRALS = 3
ASSESSMENT_AFTER_RE_REFERRAL, ASSESSMENT_DELAY_DAYS = 0.6, (5, 30)
BACKGROUND_ASSESSMENTS_24M = 0.4
INDEX_CHILD_ENTRY_SHARE = 0.6  # care entries of the index child; else any child
ENTRY_LEGAL_STATUS = {"V2": 0.65, "C1": 0.15, "C2": 0.05, "L1": 0.15}
CARE_STAY_MEDIAN_DAYS = {"V2": 45.0, "other": 300.0}
CARE_STAY_SIGMA = 1.3
NIGHTS_AWAY_EVENTS_24M_USUAL = 1.2
NIGHTS_AWAY_FRAILTY_SHAPE = 1.0  # gamma frailty: negative-binomial counts
NIGHTS_AWAY_EXTRA_MEAN = 2.0  # nights per event = 1 + Poisson(2)
EVENT_ORDER = ("re_referral", "assessment", "care_entry", "care_exit", "nights_away")
WITHDRAWAL_MEAN_DAYS = 120
WITHDRAWAL_REASONS = {
    "family no longer wished to take part": 0.35,
    "family circumstances changed": 0.25,
    "moved out of area": 0.20,
    "unhappy with allocation": 0.10,
    "no reason given": 0.10,
}


# --- surveys -------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Survey:
    """One respondent type's questionnaire: Likert questions, then one open question."""

    prefix: str
    question_offsets: tuple[float, ...]  # item means relative to `mean`
    mean: float
    response_rate: float
    timepoints: tuple[str, ...]
    themes: Mapping[str, float]


SURVEYS: dict[str, _Survey] = {
    "family": _Survey("fam", (0.2, 0.0, -0.3, 0.3, -0.1, 0.1), 3.9, 0.60, ("week8", "month12"),
                      {"practical help": 0.25, "someone to talk to": 0.25, "respite": 0.25,
                       "felt judged": 0.1, "waiting time": 0.15}),
    "volunteer": _Survey("vol", (0.3, -0.2, 0.1, 0.0, -0.3, 0.2), 4.0, 0.65,
                         ("baseline", "month6", "month12"),
                         {"rewarding": 0.35, "training helped": 0.2, "coordinator support": 0.2,
                          "time commitment": 0.15, "waiting to be matched": 0.1}),
    "volunteer_child": _Survey("vch", (0.2, -0.2, 0.0, 0.3, -0.3), 3.8, 0.50,
                               ("baseline", "month12"),
                               {"new friends": 0.35, "fun activities": 0.3,
                                "sharing my home": 0.2, "less time with my parents": 0.15}),
}  # fmt: skip
SURVEY_PERSON_SD, SURVEY_ANSWER_SD = 0.7, 0.6
SURVEY_OPEN_ANSWERED = 0.7  # respondents who write something in the open question
SURVEY_ITEM_NONRESPONSE = 0.03
SURVEY_DAYS = {"baseline": 0, "week8": WEEK8_DAYS, "month6": MONTH6_DAYS, "month12": MONTH12_DAYS}
VOLUNTEER_CHILDREN_EXTRA_MAX, VOLUNTEER_CHILDREN_EXTRA_P = 2, 0.35

# --- costs ---------------------------------------------------------------------------------
COST_YEARS = (2024, 2025)
HUB_FIXED_COST = 60_000.0  # per hub over the two years (coordinator, premises)
HUB_COST_PER_FAMILY = 1_500.0  # per SFFC family randomised
CENTRAL_COST_PER_FAMILY = 250.0
CENTRAL_FIXED_COST = 40_000.0
HUB_COST_SHARES = {"staff": 0.62, "volunteer_expenses": 0.15, "training": 0.08,
                   "overheads": 0.15}  # fmt: skip
USUAL_SERVICES_PER_FAMILY = 650.0  # services as usual, per usual-care family
COST_NOISE_SD = 0.08  # lognormal quarter-to-quarter noise

# --- SSDA903 -------------------------------------------------------------------------------
S903_WINDOW_START = np.datetime64("2019-04-01", "D")
S903_EXTRACT_DATE = np.datetime64("2025-03-31", "D")
S903_STARTS_PER_10K_PER_YEAR = 8.0
S903_AGE_BANDS = {  # age at start (years): England 2022 starters, DfE
    (0, 1): 5410, (1, 5): 4760, (5, 10): 4710, (10, 16): 8240, (16, 18): 7900,
}  # fmt: skip
S903_PROFILE_AGE_BANDS = {  # profile children: aged 10 or under; age 10 is a sixth of 10-15
    (0, 1): 5410, (1, 5): 4760, (5, 10): 4710, (10, 11): 8240 / 6,
}  # fmt: skip
S903_PROFILE_MAX_AGE = 10  # completed years
S903_PROFILE_MAX_DAYS = 13  # "under 14 days"
S903_START_LS = {"V2": 0.45, "C1": 0.25, "C2": 0.05, "L1": 0.07, "L2": 0.06, "E1": 0.01,
                 "J2": 0.06, "J1": 0.03, "J3": 0.02}  # non-profile periods  # fmt: skip
S903_LS_CHANGE = {"V2": "C1", "C1": "C2", "C2": "E1", "E1": "C2", "L1": "V2", "L2": "C1",
                  "J1": "V2", "J2": "V2", "J3": "C1"}  # fmt: skip
S903_DURATION_CLASSES = {  # non-profile period length in days: (low, high) -> share
    (1, 13): 0.05, (14, 90): 0.30, (91, 730): 0.35, (731, 3650): 0.30,
}  # fmt: skip
S903_PROFILE_SPLIT = 0.2  # profile periods with a placement move (two X1-linked episodes)
S903_MOVES_PER_YEAR, S903_MAX_EPISODES = 1.0, 8
S903_LATER_RNE = {"P": 0.45, "T": 0.25, "L": 0.15, "B": 0.10, "U": 0.05}
S903_PROFILE_RNE = {"P": 0.6, "T": 0.4}  # a move within a profile period keeps LS V2
S903_LEGAL_CHANGE_RNE = ("L", "B", "U")
S903_CIN = {"N1": 0.57, "N2": 0.03, "N3": 0.03, "N4": 0.15, "N5": 0.08, "N6": 0.02,
            "N7": 0.01, "N8": 0.11}  # fmt: skip
S903_PLACE = {"U1": 0.10, "U2": 0.03, "U3": 0.04, "U4": 0.32, "U5": 0.10, "U6": 0.12,
              "K2": 0.08, "K1": 0.005, "R1": 0.02, "R2": 0.005, "R3": 0.005, "R5": 0.005,
              "P1": 0.05, "P2": 0.005, "P3": 0.005, "H5": 0.03, "S1": 0.01, "Z1": 0.015,
              "A3": 0.005, "A4": 0.005, "A5": 0.005, "A6": 0.005, "T0": 0.005, "T1": 0.005,
              "T2": 0.005, "T3": 0.005, "T4": 0.005}  # fmt: skip
S903_PROFILE_PLACE = {"U4": 0.5, "U6": 0.2, "U5": 0.15, "U1": 0.15}  # emergency foster care
S903_PROVIDER = {"PR1": 0.45, "PR2": 0.05, "PR3": 0.02, "PR4": 0.38, "PR5": 0.10}
S903_PARENT_PLACE, S903_PARENT_PROVIDER = "P1", "PR0"  # placed with parents
S903_NO_PROVIDER_PLACE = "Z1"
S903_REC = {"E4A": 0.30, "E13": 0.10, "E11": 0.05, "E12": 0.02, "E41": 0.02, "E45": 0.05,
            "E46": 0.03, "E47": 0.02, "E48": 0.02, "E5": 0.10, "E6": 0.03, "E7": 0.03,
            "E8": 0.10, "E9": 0.02, "E2": 0.01, "E3": 0.03, "E14": 0.02, "E15": 0.01,
            "E16": 0.02, "E17": 0.01, "E4B": 0.01}  # fmt: skip
S903_PROFILE_REC = {"E4A": 0.6, "E13": 0.3, "E8": 0.1}  # mostly home to parents
S903_MOVE_REC = "X1"
S903_REENTRY, S903_REENTRY_GAP_DAYS = 0.08, (30, 730)
S903_MALE = 0.53
S903_ETHNIC = {"WBRI": 0.66, "WIRI": 0.005, "WOTH": 0.05, "WIRT": 0.005, "WROM": 0.01,
               "MWBC": 0.03, "MWBA": 0.01, "MWAS": 0.01, "MOTH": 0.03, "AIND": 0.01,
               "APKN": 0.02, "ABAN": 0.01, "AOTH": 0.02, "BCRB": 0.01, "BAFR": 0.03,
               "BOTH": 0.02, "CHNE": 0.003, "OOTH": 0.03, "REFU": 0.01, "NOBT": 0.005}  # fmt: skip
S903_UPN_LETTERS, S903_UPN_DIGITS = "ABCDEFGHJKLMNPQRTUVWXYZ", 12  # fake 13-character UPNs
S903_UPN_MISSING = 0.10
S903_CHILD_ID_START = 100_001  # CHILD ids are numbered per LA, without leading zeros

# National SSDA903 (need at national scale, for the benchmark): see `national_ssda903`.
NATIONAL_STREAM = 903  # its generator: default_rng([seed, NATIONAL_STREAM])
NATIONAL_N_LAS = 153  # about as many LAs as England has children's services
NATIONAL_EPISODES = 1_000_000
NATIONAL_WINDOW_START = np.datetime64("2015-04-01", "D")  # ten financial years to 2024-25
NATIONAL_EPISODES_PER_CHILD = 2.35  # measured: episodes per child starting in that window

# Scotland variant of need (scotland_cla): invented LAs with Scottish-style codes.
SCOTLAND_STREAM = 25  # the generator of this table: default_rng([seed, SCOTLAND_STREAM])
SCOTLAND_LAS = (
    ("S12000901", "Glenmuir"), ("S12000902", "Kilbrae"), ("S12000903", "Strathallan"),
    ("S12000904", "Dunmore"), ("S12000905", "Inverlochy"), ("S12000906", "Ardmhor"),
)  # fmt: skip
SCOTLAND_YEARS = ("2018-19", "2019-20", "2020-21", "2021-22", "2022-23")
SCOTLAND_STARTS = (20, 300)  # range of an LA's starts a year
SCOTLAND_SHARES = {
    "s25_share": (0.25, 0.45),
    "short_share": (0.15, 0.35),
    "young_share": (0.5, 0.7),
}

FLOAT_DECIMALS = {  # fixed output format, so files are byte-stable
    ("las", "cla_rate_per_10k"): 1,
    ("support", "hours"): 1,
    ("costs", "amount_gbp"): 2,
    ("measures", "response"): 0,
    ("scotland_cla", "s25_share"): 3,
    ("scotland_cla", "short_share"): 3,
    ("scotland_cla", "young_share"): 3,
}


# === public API ===========================================================================
def generate(
    out_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    n_hubs: int = 5,
    n_las: int = 25,
    n_families: int = 1055,
) -> dict[str, Path]:
    """Write the demo trial to `out_dir` and return {name: path} for every file written.

    Names are the contract tables plus "hubs" (hubs.tsv) and "truth" (truth.json).
    """
    _check_sizes(n_hubs, n_las, n_families)
    rng = np.random.default_rng(seed)
    hubs = _hubs(n_hubs)
    las = _las(rng, hubs, n_las)
    referrals, families = _referrals(rng, las, n_families)
    children = _children(rng, families)
    randomisation, trial = _randomise(rng, families, children)
    withdrawals = _withdrawals(rng, trial)
    measures = _measures(rng, trial, hubs)
    volunteers = _volunteers(rng, hubs, families)
    support = _support(rng, trial, volunteers)
    care_events = _care_events(rng, trial, children)
    surveys = _surveys(rng, trial, volunteers)
    costs = _costs(rng, hubs, trial)
    header, episodes, s903_facts = _ssda903(rng, las)
    tables = {
        "las": las,
        "referrals": referrals,
        "randomisation": randomisation,
        "children": children.drop(columns=["_family"]),
        "measures": measures,
        "support": support,
        "care_events": care_events,
        "volunteers": volunteers,
        "surveys": surveys,
        "costs": costs,
        "withdrawals": withdrawals,
        "ssda903_header": header,
        "ssda903_episodes": episodes,
        # its own generator, drawn last: the other tables stay as they were without it
        "scotland_cla": _scotland_cla(np.random.default_rng([seed, SCOTLAND_STREAM])),
    }
    out = Path(out_dir)
    written = {name: _write_table(out, name, tables[name]) for name in TABLES}
    written["hubs"] = _write_bytes(out / "hubs.tsv", _hubs_tsv(hubs))
    truth = _truth(seed, hubs, las, families, trial, tables, s903_facts)
    text = json.dumps(truth, indent=2, sort_keys=True) + "\n"
    written["truth"] = _write_bytes(out / "truth.json", text.encode("utf-8"))
    return written


@dataclass(frozen=True)
class NationalSSDA903:
    """SSDA903 tables for every (synthetic) LA in England: `tables` holds "las", "hubs",
    "ssda903_header" and "ssda903_episodes" in the demo's layout; `facts` the sizes."""

    tables: dict[str, pd.DataFrame]
    facts: dict[str, Any]


def national_ssda903(
    *, seed: int = DEFAULT_SEED, n_las: int = NATIONAL_N_LAS, n_episodes: int = NATIONAL_EPISODES
) -> NationalSSDA903:
    """SSDA903 episodes for every LA in England over ten financial years (2015-16 to 2024-25),
    about `n_episodes` in all, drawn exactly as the demo's (periods, X1-linked moves,
    re-entries, open periods, the planted 15% profile), in memory.

    The LAs are synthetic, as the demo's are: invented names and ONS-style codes (E06, E08,
    E10, and E09 in London hubs), shared out across the demo's hubs; they are not England's
    real LAs and their counts are not England's. The starting rate is set so that the
    episodes reach about `n_episodes` (for a million, about 50 per 10,000 children a year,
    twice England's): a load for the need analysis, not a picture of England. Vectorised:
    a million episodes take seconds. One seed gives the same tables (its own generator,
    default_rng([seed, NATIONAL_STREAM])).
    """
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be positive, got {n_episodes}")
    n_hubs = min(len(HUBS), max(1, n_las // 3))
    _check_sizes(n_hubs, n_las, 1)
    rng = np.random.default_rng([seed, NATIONAL_STREAM])
    hubs = _hubs(n_hubs)
    las = _las(rng, hubs, n_las)
    years = (_day_diff(S903_EXTRACT_DATE, NATIONAL_WINDOW_START) + 1) / DAYS_PER_YEAR
    children = las["child_population"].sum() / 1e4 * years
    rate = n_episodes / NATIONAL_EPISODES_PER_CHILD / children
    header, episodes, facts = _ssda903(
        rng, las, window_start=NATIONAL_WINDOW_START, starts_per_10k=rate
    )
    facts = {
        "seed": seed,
        "n_las": n_las,
        "n_hubs": n_hubs,
        "window": [str(NATIONAL_WINDOW_START), str(S903_EXTRACT_DATE)],
        "starts_per_10k_per_year": round(float(rate), 2),
        **facts,
    }
    tables = {"las": las, "hubs": hubs, "ssda903_header": header, "ssda903_episodes": episodes}
    return NationalSSDA903(tables, facts)


def write_national_ssda903(
    out_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    n_las: int = NATIONAL_N_LAS,
    n_episodes: int = NATIONAL_EPISODES,
) -> dict[str, Path]:
    """Write `national_ssda903` to `out_dir` as the demo writes its tables (las.csv,
    ssda903_header.csv, ssda903_episodes.csv, hubs.tsv) with its facts in national.json;
    returns {name: path} for every file written."""
    national = national_ssda903(seed=seed, n_las=n_las, n_episodes=n_episodes)
    out = Path(out_dir)
    names = ("las", "ssda903_header", "ssda903_episodes")
    written = {name: _write_table(out, name, national.tables[name]) for name in names}
    written["hubs"] = _write_bytes(out / "hubs.tsv", _hubs_tsv(national.tables["hubs"]))
    text = json.dumps(national.facts, indent=2, sort_keys=True) + "\n"
    written["facts"] = _write_bytes(out / "national.json", text.encode("utf-8"))
    return written


# === hubs, LAs, referrals, children, randomisation ========================================
def _check_sizes(n_hubs: int, n_las: int, n_families: int) -> None:
    """Refuse sizes the generator cannot honour, with the reason."""
    n_names = len(LA_NAME_STEMS) * len(LA_NAME_ENDINGS)
    if not 1 <= n_hubs <= len(HUBS):
        raise ValueError(f"n_hubs must be 1-{len(HUBS)} (named hubs available), got {n_hubs}")
    if not n_hubs <= n_las <= min(N_LA_RANKS, n_names):
        raise ValueError(
            f"n_las must be between n_hubs ({n_hubs}) and {min(N_LA_RANKS, n_names)}, got {n_las}"
        )
    if n_families < 1:
        raise ValueError(f"n_families must be positive, got {n_families}")


def _hubs(n_hubs: int) -> pd.DataFrame:
    """The hub sheet: the first `n_hubs` of HUBS, in the columns of config/hubs.tsv."""
    rows = HUBS[:n_hubs]
    return pd.DataFrame(
        {
            "hub_id": [h for h, _ in rows],
            "hub_name": [n for _, n in rows],
            "nation": HUB_NATION,
            "recruitment_target": HUB_RECRUITMENT_TARGET,
        }
    )


def _hubs_tsv(hubs: pd.DataFrame) -> bytes:
    """The sheet as config/hubs.tsv lays it out (tabs, "\n", no quoting)."""
    lines = ["\t".join(hubs.columns)]
    lines += ["\t".join(str(v) for v in row) for row in hubs.itertuples(index=False)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _draw(rng: np.random.Generator, weights: Mapping, size: int) -> np.ndarray:
    """Draw `size` keys of `weights` with probabilities proportional to its values."""
    keys = np.array(list(weights))
    p = np.array(list(weights.values()), dtype=float)
    return keys[rng.choice(len(keys), size=size, p=p / p.sum())]


def _uniform_days(rng: np.random.Generator, bounds: tuple[int, int], size: int) -> np.ndarray:
    """Whole days in [low, high], inclusive."""
    return rng.integers(bounds[0], bounds[1] + 1, size=size)


def _td(days: np.ndarray | int) -> np.ndarray:
    """Whole days as timedelta64, to add to datetime64[D] dates."""
    return np.asarray(days).astype("timedelta64[D]")


def _day_diff(later: np.ndarray, earlier: np.ndarray) -> np.ndarray:
    """Days from `earlier` to `later` (no NaT allowed)."""
    return ((later - earlier) // np.timedelta64(1, "D")).astype(np.int64)


def _las(rng: np.random.Generator, hubs: pd.DataFrame, n_las: int) -> pd.DataFrame:
    """LAs shared out evenly across hubs (the remainder to random hubs)."""
    n_hubs = len(hubs)
    per_hub = np.full(n_hubs, n_las // n_hubs)
    per_hub[rng.choice(n_hubs, n_las % n_hubs, replace=False)] += 1
    hub_ids = np.repeat(hubs["hub_id"].to_numpy(), per_hub)
    london = np.char.startswith(hub_ids.astype(str), "london")
    prefix = np.where(london, LONDON_LA_CODE_PREFIX, _draw(rng, LA_CODE_PREFIX, n_las))
    number = pd.Series(prefix).groupby(prefix).cumcount().to_numpy() + 1
    names = np.array([a + b for a, b in product(LA_NAME_STEMS, LA_NAME_ENDINGS)])
    population = rng.lognormal(np.log(CHILD_POP_MEDIAN), CHILD_POP_SIGMA, n_las)
    population = np.round(np.clip(population, *CHILD_POP_RANGE), -1).astype(int)
    rank = rng.choice(N_LA_RANKS, n_las, replace=False) + 1
    cla = (
        CLA_RATE_MOST_DEPRIVED
        - CLA_RATE_DEPRIVATION_SLOPE * (rank - 1) / (N_LA_RANKS - 1)
        + rng.normal(0, CLA_RATE_SD, n_las)
    )
    return pd.DataFrame(
        {
            "la_code": [f"{p}{n:06d}" for p, n in zip(prefix, number, strict=True)],
            "la_name": names[rng.choice(len(names), n_las, replace=False)],
            "hub_id": hub_ids,
            "nation": HUB_NATION,
            "child_population": population,
            "cla_rate_per_10k": np.round(np.clip(cla, *CLA_RATE_RANGE), 1),
            "deprivation_rank": rank,
        }
    )


def _referrals(
    rng: np.random.Generator, las: pd.DataFrame, n: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Referred families in date order: the contract table and an internal frame."""
    weight = las["child_population"].to_numpy() * rng.gamma(
        LA_ENGAGEMENT_SHAPE, 1 / LA_ENGAGEMENT_SHAPE, len(las)
    )
    la_idx = rng.choice(len(las), n, p=weight / weight.sum())
    ramp = np.minimum(1.0, (np.arange(RECRUITMENT_DAYS) + RAMP_UP_DAYS / 2) / (1.5 * RAMP_UP_DAYS))
    day = rng.choice(RECRUITMENT_DAYS, n, p=ramp / ramp.sum())
    order = np.lexsort((rng.random(n), day))
    la_idx, day = la_idx[order], day[order]
    width = max(5, len(str(n)))
    family_id = np.array([f"F{i:0{width}d}" for i in range(1, n + 1)])
    source = _draw(rng, REFERRAL_SOURCE_P, n)
    group = np.where(rng.random(n) < EDGE_OF_CARE_SHARE, "edge_of_care", "emerging")
    n_children = _draw(rng, N_CHILDREN_P, n).astype(int)
    eligible = rng.random(n) < ELIGIBLE_SHARE
    consented = eligible & (rng.random(n) < CONSENT_SHARE)
    lost = consented & (rng.random(n) < LOST_BEFORE_RANDOMISATION)
    reason = np.full(n, None, dtype=object)
    reason[~eligible] = _draw(rng, NOT_ELIGIBLE_REASONS, int((~eligible).sum()))
    reason[eligible & ~consented] = DECLINED_REASON
    reason[lost] = _draw(rng, LOST_REASONS, int(lost.sum()))
    referral_date = TRIAL_START + _td(day)
    la_code = las["la_code"].to_numpy()[la_idx]
    referrals = pd.DataFrame(
        {
            "family_id": family_id,
            "la_code": la_code,
            "referral_date": referral_date,
            "referral_source": source,
            "referral_group": group,
            "n_children": n_children,
            "eligible": eligible,
            "consented": pd.array(consented, dtype="boolean"),
            "reason_not_randomised": reason,
        }
    )
    referrals.loc[~eligible, "consented"] = pd.NA  # only eligible families are asked
    families = pd.DataFrame(
        {
            "family_id": family_id,
            "la_code": la_code,
            "hub_id": las["hub_id"].to_numpy()[la_idx],
            "referral_date": referral_date,
            "referral_group": group,
            "n_children": n_children,
            "randomised": consented & ~lost,
            "_row": np.arange(n),
        }
    )
    return referrals, families


def _children(rng: np.random.Generator, families: pd.DataFrame) -> pd.DataFrame:
    """Children of every referred family, eldest first; the index child is 4-10."""
    n_kids = families["n_children"].to_numpy()
    fam = np.repeat(np.arange(len(families)), n_kids)
    first = np.repeat(np.cumsum(n_kids) - n_kids, n_kids)
    is_index = np.arange(len(fam)) == first
    year = DAYS_PER_YEAR
    index_age = rng.uniform(
        INDEX_AGE_YEARS[0] * year + AGE_MARGIN_DAYS,
        INDEX_AGE_YEARS[1] * year - AGE_MARGIN_DAYS,
        len(families),
    )
    sibling_age = index_age[fam] + rng.normal(0, SIBLING_AGE_SD_YEARS * year, len(fam))
    age = np.where(
        is_index,
        index_age[fam],
        np.clip(sibling_age, AGE_MARGIN_DAYS, CHILD_AGE_MAX_YEARS * year - AGE_MARGIN_DAYS),
    )
    age_days = np.floor(age).astype(int)
    order = np.lexsort((-age_days, fam))
    fam, is_index, age_days = fam[order], is_index[order], age_days[order]
    number = np.arange(len(fam)) - np.repeat(np.cumsum(n_kids) - n_kids, n_kids) + 1
    family_id = families["family_id"].to_numpy()[fam]
    ethnicity = _draw(rng, ETHNICITY_P, len(families))[fam]
    return pd.DataFrame(
        {
            "child_id": [f"{f}-C{k}" for f, k in zip(family_id, number, strict=True)],
            "family_id": family_id,
            "dob": families["referral_date"].to_numpy()[fam] - _td(age_days),
            "sex": np.where(rng.random(len(fam)) < MALE_SHARE, "male", "female"),
            "ethnicity": ethnicity,
            "index_child": is_index,
            "_family": fam,
        }
    )


def _randomise(
    rng: np.random.Generator, families: pd.DataFrame, children: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Permuted blocks of 2 or 4 within hub x referral group, in order of randomisation.

    Returns the contract table and the internal frame of randomised families that later
    steps build on.
    """
    trial = families[families["randomised"]].reset_index(drop=True)
    n = len(trial)
    delay = rng.integers(0, MAX_DAYS_TO_RANDOMISATION + 1, n)
    trial["randomised_date"] = trial["referral_date"].to_numpy() + _td(delay)
    trial["stratum"] = trial["hub_id"] + "|" + trial["referral_group"]
    trial = trial.sort_values(["stratum", "randomised_date", "family_id"], ignore_index=True)
    arm = np.empty(n, dtype=object)
    block_id = np.empty(n, dtype=object)
    strata = trial["stratum"].to_numpy()
    for stratum in np.unique(strata):
        rows = np.flatnonzero(strata == stratum)
        sizes = rng.choice(BLOCK_SIZES, size=len(rows))
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), len(rows)) + 1]
        block = np.repeat(np.arange(len(sizes)), sizes)
        pos = np.arange(len(block)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        first_half = pos < np.repeat(sizes // 2, sizes)
        shuffled = first_half[np.lexsort((rng.random(len(block)), block))]
        arm[rows] = np.where(shuffled[: len(rows)], ARMS[0], ARMS[1])
        block_id[rows] = [f"{stratum}|B{b + 1:03d}" for b in block[: len(rows)]]
    trial["arm"] = arm
    trial["block_id"] = block_id
    trial = trial.sort_values("family_id", ignore_index=True)
    # children are sorted by family, so each family's children are one run of rows
    n_kids = families["n_children"].to_numpy()
    trial["first_child_row"] = (np.cumsum(n_kids) - n_kids)[trial["_row"]]
    index_rows = np.flatnonzero(children["index_child"].to_numpy())  # one per family
    trial["index_child_id"] = children["child_id"].to_numpy()[index_rows][trial["_row"]]
    table = trial[["family_id", "randomised_date", "arm", "stratum", "block_id"]]
    return table, trial


def _withdrawals(rng: np.random.Generator, trial: pd.DataFrame) -> pd.DataFrame:
    """Withdrawals after randomisation; adds withdrawal_date/data_use_consent to `trial`."""
    n = len(trial)
    risk = trial["arm"].map(WITHDRAWAL_RISK).to_numpy()
    withdrawn = rng.random(n) < risk
    day = np.minimum(1 + np.floor(rng.exponential(WITHDRAWAL_MEAN_DAYS, n)), FOLLOW_UP_DAYS)
    date = trial["randomised_date"].to_numpy() + _td(day.astype(int))
    consent = rng.random(n) >= NO_DATA_CONSENT_SHARE
    reason = _draw(rng, WITHDRAWAL_REASONS, n)
    trial["withdrawal_date"] = np.where(withdrawn, date, np.datetime64("NaT"))
    trial["data_use_consent"] = np.where(withdrawn, consent, True)
    return pd.DataFrame(
        {
            "family_id": trial["family_id"][withdrawn],
            "withdrawal_date": date[withdrawn],
            "reason": reason[withdrawn],
            "data_use_consent": consent[withdrawn],
        }
    ).reset_index(drop=True)


# === measures =============================================================================
@dataclass(frozen=True)
class _ItemModel:
    """Per item: expected score (scored direction) = slope x latent + intercept + profile term.

    `profile` is the item's column in the instrument's person-level profile (-1 for none).
    """

    latent: np.ndarray
    slope: np.ndarray
    intercept: np.ndarray
    profile: np.ndarray
    profile_scale: np.ndarray


def _item_model(inst: _Instrument) -> _ItemModel:
    """How each item of `inst` follows its latent (see the module docstring)."""
    n = inst.items
    latent = np.full(n, inst.name, dtype=object)
    slope, intercept = np.full(n, 1.0 / n), np.zeros(n)
    profile, scale = np.full(n, -1), np.zeros(n)
    if inst.name == "sdq":
        for j, (sub, share) in enumerate(SDQ_DIFFICULTY_SHARES.items()):
            items = np.array(inst.subscales[sub]) - 1
            slope[items] = share / len(items)  # the subscale's share, spread over its items
            profile[items], scale[items] = j, 1 / len(items)
        items = np.array(inst.subscales["prosocial"]) - 1
        latent[items], slope[items] = "prosocial", 1 / len(items)
    elif inst.name == "mspss":  # score = mean item, so each item carries the latent
        slope[:] = 1.0
        for j, (sub, offset) in enumerate(MSPSS_SUBSCALE_OFFSET.items()):
            items = np.array(inst.subscales[sub]) - 1
            intercept[items], profile[items], scale[items] = offset, j, 1.0
    return _ItemModel(latent, slope, intercept, profile, scale)


def _expected_items(
    inst: _Instrument, latent: dict[str, np.ndarray], profile: np.ndarray | None
) -> np.ndarray:
    """Expected item scores (scored direction): their sum or mean is the latent score."""
    model = _item_model(inst)
    expected = np.column_stack([latent[name] for name in model.latent]) * model.slope
    expected += model.intercept
    if profile is not None:
        has = model.profile >= 0
        expected[:, has] += profile[:, model.profile[has]] * model.profile_scale[has]
    return expected


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.vectorize(math.erf)(np.asarray(z) / math.sqrt(2)))


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.asarray(z) ** 2) / math.sqrt(2 * math.pi)


def _clipped_normal_mean(mean: np.ndarray, sd: np.ndarray, low: float, high: float) -> np.ndarray:
    """E[min(max(X, low), high)] for X ~ Normal(mean, sd^2)."""
    a, b = (low - mean) / sd, (high - mean) / sd
    inside = mean * (_normal_cdf(b) - _normal_cdf(a)) + sd * (_normal_pdf(a) - _normal_pdf(b))
    return low * _normal_cdf(a) + inside + high * (1 - _normal_cdf(b))


def _expected_score(name: str, mean: float, sd: float) -> float:
    """Expected scored total (or mean) of latent `name` ~ Normal(mean, sd^2), items clipped."""
    inst = next(i for i in INSTRUMENTS if name in set(_item_model(i).latent))
    model = _item_model(inst)
    mine = model.latent == name
    profile_var = 0.0
    if inst.name in PROFILE_SD:  # a centred profile of k subscales
        k = model.profile.max() + 1
        profile_var = PROFILE_SD[inst.name] ** 2 * (1 - 1 / k)
    item_sd = np.sqrt(model.slope**2 * sd**2 + model.profile_scale**2 * profile_var)
    item_mean = model.slope * mean + model.intercept
    expected = _clipped_normal_mean(item_mean, item_sd, inst.low, inst.high)[mine]
    return float(expected.mean() if name in MEAN_SCORED else expected.sum())


@cache
def latent_shift(name: str) -> float:
    """The shift of the week-8 latent that gives the planted difference in expected *scored*
    totals: items are bounded, so near a floor or ceiling a latent shift is partly lost."""
    lat = LATENTS[name]
    if lat.effect == 0:
        return 0.0
    group_var = (
        (EDGE_OF_CARE_SHIFT_SD * lat.sd) ** 2 * EDGE_OF_CARE_SHARE * (1 - EDGE_OF_CARE_SHARE)
    )
    sd = math.sqrt(lat.sd**2 * (1 + HUB_INTERCEPT_SD**2) + group_var)  # week-8 marginal SD
    usual_mean = lat.mean + lat.usual_change
    usual = _expected_score(name, usual_mean, sd)
    low, high = sorted((0.0, CALIBRATION_BRACKET * lat.effect))
    for _ in range(CALIBRATION_STEPS):  # bisection: the gap grows with the shift
        mid = (low + high) / 2
        if _expected_score(name, usual_mean + mid, sd) - usual < lat.effect:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _latent_scores(
    rng: np.random.Generator, trial: pd.DataFrame, hubs: pd.DataFrame
) -> dict[str, dict[str, np.ndarray]]:
    """Baseline and week-8 latent scores per randomised family: {timepoint: {latent: array}}."""
    n, k = len(trial), len(LATENTS)
    z0 = rng.multivariate_normal(np.zeros(k), LATENT_CORRELATION, n)
    innovation = rng.multivariate_normal(np.zeros(k), LATENT_CORRELATION, n)
    hub_z = rng.normal(0, HUB_INTERCEPT_SD, (len(hubs), k))
    hub_idx = pd.Index(hubs["hub_id"]).get_indexer(trial["hub_id"])
    edge = (trial["referral_group"] == "edge_of_care").to_numpy()
    sffc = (trial["arm"] == "sffc").to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {"baseline": {}, "week8": {}}
    for j, (name, lat) in enumerate(LATENTS.items()):
        shift = lat.worse * EDGE_OF_CARE_SHIFT_SD * lat.sd
        mean = lat.mean + shift * (edge - EDGE_OF_CARE_SHARE)
        out["baseline"][name] = mean + lat.sd * z0[:, j]
        z1 = lat.rho * z0[:, j] + np.sqrt(1 - lat.rho**2) * innovation[:, j] + hub_z[hub_idx, j]
        out["week8"][name] = mean + lat.usual_change + lat.sd * z1 + latent_shift(name) * sffc
    return out


def _subscale_profile(rng: np.random.Generator, n: int, k: int, sd: float) -> np.ndarray:
    """A stable person-level profile across k subscales that sums to zero per person."""
    raw = rng.normal(0, sd, (n, k))
    return raw - raw.mean(axis=1, keepdims=True)


def _item_responses(
    rng: np.random.Generator, inst: _Instrument, expected: np.ndarray
) -> np.ndarray:
    """Binomial responses around the expected scores, reverse items stored raw, some blank."""
    steps = inst.high - inst.low
    p = np.clip((expected - inst.low) / steps, 0.0, 1.0)
    scored = inst.low + rng.binomial(steps, p).astype(float)
    raw = scored.copy()
    reverse = np.array(inst.reverse, dtype=int) - 1
    raw[:, reverse] = inst.high + inst.low - scored[:, reverse]
    raw[rng.random(raw.shape) < ITEM_NONRESPONSE] = np.nan
    # patchy questionnaires: `patchy_items` random items of one random subscale left blank
    patchy = np.flatnonzero(rng.random(len(raw)) < PATCHY_QUESTIONNAIRE)
    subscales = list(inst.subscales.values())
    members = np.full((len(subscales), max(map(len, subscales))), -1)  # -1 pads short ones
    for j, items in enumerate(subscales):
        members[j, : len(items)] = np.array(items) - 1
    members = members[rng.integers(0, len(subscales), len(patchy))]
    keys = np.where(members >= 0, rng.random(members.shape), np.inf)
    skipped = np.take_along_axis(members, np.argsort(keys, axis=1)[:, : inst.patchy_items], 1)
    raw[np.repeat(patchy, inst.patchy_items), skipped.ravel()] = np.nan
    return raw


def _measures(rng: np.random.Generator, trial: pd.DataFrame, hubs: pd.DataFrame) -> pd.DataFrame:
    """Item-level SDQ, GAD-7 and MSPSS at baseline and week 8 for randomised families."""
    n = len(trial)
    latent = _latent_scores(rng, trial, hubs)
    profiles = {
        inst.name: _subscale_profile(
            rng, n, _item_model(inst).profile.max() + 1, PROFILE_SD[inst.name]
        )
        for inst in INSTRUMENTS
        if inst.name in PROFILE_SD
    }
    randomised = trial["randomised_date"].to_numpy()
    lead = np.minimum(
        rng.integers(0, BASELINE_MAX_DAYS_BEFORE + 1, n),
        _day_diff(randomised, trial["referral_date"].to_numpy()),
    )
    week8 = randomised + _td(WEEK8_DAYS + rng.integers(-WEEK8_WINDOW, WEEK8_WINDOW + 1, n))
    missing_risk = np.array(
        [WEEK8_MISSING[(a, g)] for a, g in zip(trial["arm"], trial["referral_group"], strict=True)]
    )
    withdrawn_by = trial["withdrawal_date"].to_numpy()
    stopped = ~np.isnat(withdrawn_by) & (
        ~trial["data_use_consent"].to_numpy() | (withdrawn_by < week8)
    )
    attends = {
        "baseline": np.ones(n, dtype=bool),
        "week8": (rng.random(n) >= missing_risk) & ~stopped,
    }
    dates = {"baseline": randomised - _td(lead), "week8": week8}
    # one questionnaire block per (timepoint, instrument); rows are built as integer codes
    # and sorted once (family, timepoint, instrument, item), since there can be millions
    family, block, item, response = [], [], [], []
    for t, timepoint in enumerate(TIMEPOINT_ORDER):
        rows = np.flatnonzero(attends[timepoint])
        for i, inst in enumerate(INSTRUMENTS):
            expected = _expected_items(inst, latent[timepoint], profiles.get(inst.name))
            family.append(np.repeat(rows, inst.items))
            block.append(np.full(len(rows) * inst.items, t * len(INSTRUMENTS) + i))
            item.append(np.tile(np.arange(1, inst.items + 1), len(rows)))
            response.append(_item_responses(rng, inst, expected)[rows].ravel())
    family, block, item, response = (np.concatenate(x) for x in (family, block, item, response))
    order = np.lexsort((item, block, family))
    family, block, item, response = family[order], block[order], item[order], response[order]
    inst_of = block % len(INSTRUMENTS)
    rates_child = np.array([inst.rates == "child" for inst in INSTRUMENTS])[inst_of]
    child_codes = np.where(rates_child, family, -1)  # -1: no child (a parent instrument)
    return pd.DataFrame(
        {
            "family_id": pd.Categorical.from_codes(family, trial["family_id"]),
            "child_id": pd.Categorical.from_codes(child_codes, trial["index_child_id"]),
            "instrument": pd.Categorical.from_codes(inst_of, [i.name for i in INSTRUMENTS]),
            "timepoint": pd.Categorical.from_codes(block // len(INSTRUMENTS), TIMEPOINT_ORDER),
            "item": item,
            "response": response,
            "completed_date": np.where(
                block < len(INSTRUMENTS), dates["baseline"][family], dates["week8"][family]
            ),
        }
    )


# === volunteers and support ===============================================================
def _volunteers(
    rng: np.random.Generator, hubs: pd.DataFrame, families: pd.DataFrame
) -> pd.DataFrame:
    """Volunteers per hub in proportion to its referrals, recruited before and during the trial."""
    referred = families["hub_id"].value_counts().reindex(hubs["hub_id"], fill_value=0)
    per_hub = np.maximum(MIN_VOLUNTEERS, np.round(VOLUNTEERS_PER_REFERRAL * referred)).astype(int)
    n = int(per_hub.sum())
    hub_id = np.repeat(hubs["hub_id"].to_numpy(), per_hub)
    pre_trial = rng.random(n) < VOLUNTEER_PRE_TRIAL_SHARE
    pre_days = _day_diff(TRIAL_START, VOLUNTEER_FIRST_START)
    trial_days = _day_diff(VOLUNTEER_LAST_START, TRIAL_START) + 1
    offset = np.where(
        pre_trial, rng.integers(0, pre_days, n), pre_days + rng.integers(0, trial_days, n)
    )
    start = VOLUNTEER_FIRST_START + _td(offset)
    stay = np.ceil(rng.exponential(365 / -np.log(VOLUNTEER_RETENTION_12M), n)).astype(int)
    end = start + _td(stay)
    order = np.lexsort((rng.random(n), start, pd.Index(hubs["hub_id"]).get_indexer(hub_id)))
    width = max(4, len(str(n)))
    return pd.DataFrame(
        {
            "volunteer_id": [f"V{i:0{width}d}" for i in range(1, n + 1)],
            "hub_id": hub_id[order],
            "role": _draw(rng, VOLUNTEER_ROLE_P, n),
            "start_date": start[order],
            "end_date": np.where(end <= DELIVERY_DATA_CUT, end, np.datetime64("NaT"))[order],
            "has_children": rng.random(n) < VOLUNTEER_HAS_CHILDREN,
        }
    )


def _chain_starts(
    rng: np.random.Generator, owner: np.ndarray, first: np.ndarray, length: np.ndarray,
    gap: tuple[int, int],
) -> np.ndarray:  # fmt: skip
    """Start offsets of consecutive episodes per owner: first, then after each end plus a gap.

    `owner` must be sorted; `first` gives each row's owner's first start; `length` each
    episode's length in days.
    """
    is_first = np.r_[True, owner[1:] != owner[:-1]]
    gaps = np.where(is_first, 0, _uniform_days(rng, gap, len(owner)))
    before = pd.Series(length).groupby(owner).cumsum().to_numpy() - length
    return first + before + pd.Series(gaps).groupby(owner).cumsum().to_numpy()


def _support(
    rng: np.random.Generator, trial: pd.DataFrame, volunteers: pd.DataFrame
) -> pd.DataFrame:
    """Support episodes from the delivery app: hosting, friendship, resources."""
    n = len(trial)
    supported = rng.random(n) < trial["arm"].map(SUPPORTED_SHARE).to_numpy()
    gets = {t: supported & (rng.random(n) < p) for t, p in SUPPORT_TYPE_P.items()}
    gets["friendship"] |= supported & ~np.logical_or.reduce(list(gets.values()))
    parts = []

    # hosting: a chain of short stays
    fam = np.flatnonzero(gets["hosting"])
    k = 1 + np.minimum(rng.poisson(HOSTING_EXTRA_EPISODES_MEAN, len(fam)), HOSTING_MAX_EPISODES - 1)
    owner = np.repeat(fam, k)
    nights = 1 + rng.binomial(HOSTING_NIGHTS_MAX - 1, HOSTING_NIGHTS_P, len(owner))
    first = np.repeat(_uniform_days(rng, FIRST_SUPPORT_DAYS, len(fam)), k)
    start = _chain_starts(rng, owner, first, nights, HOSTING_GAP_DAYS)
    parts.append(pd.DataFrame({"_family": owner, "support_type": "hosting", "_start": start,
                               "_days": nights, "nights": nights, "hours": np.nan}))  # fmt: skip

    # friendship: one run of weekly visits
    fam = np.flatnonzero(gets["friendship"])
    weeks = _uniform_days(rng, FRIENDSHIP_WEEKS, len(fam))
    hours = np.round(weeks * rng.uniform(*FRIENDSHIP_HOURS_PER_WEEK, len(fam)) * 2) / 2
    parts.append(pd.DataFrame({"_family": fam, "support_type": "friendship",
                               "_start": _uniform_days(rng, FIRST_SUPPORT_DAYS, len(fam)),
                               "_days": 7 * weeks, "nights": np.nan, "hours": hours}))  # fmt: skip

    # resources: one-day deliveries of goods
    fam = np.flatnonzero(gets["resources"])
    k = 1 + rng.binomial(RESOURCES_EXTRA_MAX, RESOURCES_EXTRA_P, len(fam))
    owner = np.repeat(fam, k)
    first = np.repeat(_uniform_days(rng, FIRST_SUPPORT_DAYS, len(fam)), k)
    start = _chain_starts(rng, owner, first, np.zeros(len(owner), int), RESOURCES_GAP_DAYS)
    parts.append(pd.DataFrame({"_family": owner, "support_type": "resources", "_start": start,
                               "_days": 0, "nights": np.nan, "hours": np.nan}))  # fmt: skip

    ep = pd.concat(parts, ignore_index=True)
    fam = ep["_family"].to_numpy()
    start = trial["randomised_date"].to_numpy()[fam] + _td(ep["_start"].to_numpy())
    end = start + _td(ep["_days"].to_numpy())
    withdrawn = trial["withdrawal_date"].to_numpy()[fam]
    keep = (np.isnat(withdrawn) | (start <= withdrawn)) & (start <= DELIVERY_DATA_CUT)
    keep &= (ep["support_type"] != "hosting").to_numpy() | (end <= DELIVERY_DATA_CUT)
    ongoing = end > DELIVERY_DATA_CUT  # friendships still running at the extract
    elapsed = np.maximum(_day_diff(DELIVERY_DATA_CUT, start), 0)
    hours = ep["hours"].to_numpy()
    ep["hours"] = np.where(
        ongoing, np.round(hours * elapsed / np.maximum(ep["_days"].to_numpy(), 1) * 2) / 2, hours
    )
    ep["start_date"], ep["end_date"] = start, np.where(ongoing, np.datetime64("NaT"), end)
    ep = ep[keep]
    ep = ep.assign(_type=ep["support_type"].map({t: i for i, t in enumerate(SUPPORT_TYPE_P)}))
    ep = ep.sort_values(["_family", "start_date", "_type"], kind="stable", ignore_index=True)
    ep["volunteer_id"] = _assign_volunteers(rng, ep, trial, volunteers)
    width = max(6, len(str(len(ep))))
    ep["episode_id"] = [f"EP{i:0{width}d}" for i in range(1, len(ep) + 1)]
    ep["family_id"] = trial["family_id"].to_numpy()[ep["_family"].to_numpy()]
    return ep[TABLES["support"].column_names]


def _assign_volunteers(
    rng: np.random.Generator, ep: pd.DataFrame, trial: pd.DataFrame, volunteers: pd.DataFrame
) -> np.ndarray:
    """A random volunteer of the family's hub for each episode, preferring one active then in
    the matching role; some resource deliveries have none."""
    out = np.full(len(ep), None, dtype=object)
    ep_hub = trial["hub_id"].to_numpy()[ep["_family"].to_numpy()]
    ep_start = ep["start_date"].to_numpy()
    ep_role = ep["support_type"].map(SUPPORT_ROLE).to_numpy()
    v_start = volunteers["start_date"].to_numpy()
    v_end = volunteers["end_date"].to_numpy()
    for hub in volunteers["hub_id"].unique():
        e = np.flatnonzero(ep_hub == hub)
        v = np.flatnonzero(volunteers["hub_id"].to_numpy() == hub)
        active = (v_start[v][None, :] <= ep_start[e][:, None]) & (
            np.isnat(v_end[v])[None, :] | (v_end[v][None, :] >= ep_start[e][:, None])
        )
        matches = volunteers["role"].to_numpy()[v][None, :] == ep_role[e][:, None]
        priority = 2 * (active & matches) + active + rng.random((len(e), len(v)))
        out[e] = volunteers["volunteer_id"].to_numpy()[v][priority.argmax(axis=1)]
    none = (ep["support_type"] == "resources").to_numpy() & (
        rng.random(len(ep)) < RESOURCES_NO_VOLUNTEER
    )
    out[none] = None
    return out


# === care events ==========================================================================
def _care_events(
    rng: np.random.Generator, trial: pd.DataFrame, children: pd.DataFrame
) -> pd.DataFrame:
    """LA record events in (randomisation, randomisation + 24 months], stopped at withdrawal."""
    n = len(trial)
    randomised = trial["randomised_date"].to_numpy()
    withdrawn = trial["withdrawal_date"].to_numpy()
    stop = np.where(np.isnat(withdrawn), randomised + _td(FOLLOW_UP_DAYS), withdrawn)
    exposure = np.minimum(_day_diff(stop, randomised), FOLLOW_UP_DAYS)
    sffc = (trial["arm"] == "sffc").to_numpy()
    index_child = trial["index_child_id"].to_numpy()
    events: list[pd.DataFrame] = []

    def add(fam: np.ndarray, kind: str, day: np.ndarray, child: np.ndarray | None = None,
            legal: np.ndarray | None = None, nights: np.ndarray | None = None) -> None:  # fmt: skip
        """Record events on follow-up day `day` (1 = the day after randomisation), keeping
        those within the family's follow-up; the child defaults to the index child."""
        keep = (day >= 1) & (day <= exposure[fam])
        events.append(
            pd.DataFrame(
                {
                    "_family": fam[keep],
                    "_type": EVENT_ORDER.index(kind),
                    "child_id": (index_child[fam] if child is None else child)[keep],
                    "event_type": kind,
                    "_day": day[keep],
                    "legal_status": None if legal is None else legal[keep],
                    "nights": np.nan if nights is None else nights[keep],
                }
            )
        )

    # re-referrals: exponential gaps, hazard lower by RE_REFERRAL_HR in SFFC
    hazard = -np.log(1 - RE_REFERRAL_24M_USUAL) / FOLLOW_UP_DAYS * np.where(sffc, RE_REFERRAL_HR, 1)
    times = np.cumsum(rng.exponential(1.0, (n, MAX_RE_REFERRALS)) / hazard[:, None], axis=1)
    fam = np.repeat(np.arange(n), MAX_RE_REFERRALS)
    re_day = np.ceil(times.ravel()).astype(int)
    add(fam, "re_referral", re_day)
    followed = rng.random(len(fam)) < ASSESSMENT_AFTER_RE_REFERRAL
    delay = _uniform_days(rng, ASSESSMENT_DELAY_DAYS, len(fam))
    after = re_day <= exposure[fam]  # only re-referrals that happened lead to assessments
    add(fam[followed & after], "assessment", (re_day + delay)[followed & after])
    k = rng.poisson(BACKGROUND_ASSESSMENTS_24M * exposure / FOLLOW_UP_DAYS)
    fam = np.repeat(np.arange(n), k)
    add(fam, "assessment", 1 + np.floor(rng.random(len(fam)) * exposure[fam]).astype(int))

    # care entries (one child) and exits
    risk = np.where(sffc, CARE_ENTRY_RISK["sffc"], CARE_ENTRY_RISK["usual"])
    fam = np.flatnonzero(rng.random(n) < risk)
    entry_day = _uniform_days(rng, (1, FOLLOW_UP_DAYS), len(fam))
    n_kids = trial["n_children"].to_numpy()[fam]
    any_child = trial["first_child_row"].to_numpy()[fam] + np.floor(
        rng.random(len(fam)) * n_kids
    ).astype(int)
    child = np.where(
        rng.random(len(fam)) < INDEX_CHILD_ENTRY_SHARE,
        index_child[fam],
        children["child_id"].to_numpy()[any_child],
    )
    legal = _draw(rng, ENTRY_LEGAL_STATUS, len(fam))
    median = np.where(legal == "V2", CARE_STAY_MEDIAN_DAYS["V2"], CARE_STAY_MEDIAN_DAYS["other"])
    stay = np.maximum(1, np.round(median * rng.lognormal(0, CARE_STAY_SIGMA, len(fam))))
    add(fam, "care_entry", entry_day, child=child, legal=legal)
    entered = entry_day <= exposure[fam]
    add(fam[entered], "care_exit", (entry_day + stay.astype(int))[entered], child=child[entered])

    # nights away: negative-binomial event counts, rate ratio NIGHTS_AWAY_RR
    frailty = rng.gamma(NIGHTS_AWAY_FRAILTY_SHAPE, 1 / NIGHTS_AWAY_FRAILTY_SHAPE, n)
    rate = NIGHTS_AWAY_EVENTS_24M_USUAL * np.where(sffc, NIGHTS_AWAY_RR, 1) * frailty
    k = rng.poisson(rate * exposure / FOLLOW_UP_DAYS)
    fam = np.repeat(np.arange(n), k)
    day = 1 + np.floor(rng.random(len(fam)) * exposure[fam]).astype(int)
    add(fam, "nights_away", day, nights=1 + rng.poisson(NIGHTS_AWAY_EXTRA_MEAN, len(fam)))

    ev = pd.concat(events, ignore_index=True)
    fam = ev["_family"].to_numpy()
    ev["family_id"] = trial["family_id"].to_numpy()[fam]
    ev["event_date"] = randomised[fam] + _td(ev["_day"].to_numpy())
    ev = ev.sort_values(["_family", "_day", "_type", "child_id"], kind="stable", ignore_index=True)
    return ev[TABLES["care_events"].column_names]


# === surveys ==============================================================================
def _survey_answers(
    rng: np.random.Generator, kind: str, respondent: np.ndarray, hub: np.ndarray,
    timepoint: np.ndarray,
) -> pd.DataFrame:  # fmt: skip
    """Likert answers (person-level tendency + question offset + noise) and a coded theme."""
    spec = SURVEYS[kind]
    n, q = len(respondent), len(spec.question_offsets)
    ids, respondent_row = np.unique(respondent, return_inverse=True)
    person = rng.normal(0, SURVEY_PERSON_SD, len(ids))[respondent_row]
    latent = (
        spec.mean
        + np.array(spec.question_offsets)[None, :]
        + person[:, None]
        + rng.normal(0, SURVEY_ANSWER_SD, (n, q))
    )
    likert = np.clip(np.round(latent), 1, 5)
    likert[rng.random((n, q)) < SURVEY_ITEM_NONRESPONSE] = np.nan
    answered_open = rng.random(n) < SURVEY_OPEN_ANSWERED
    theme = _draw(rng, spec.themes, n)
    base = {"respondent_type": kind, "respondent_id": respondent, "hub_id": hub,
            "timepoint": timepoint}  # fmt: skip
    closed = pd.DataFrame({k: np.repeat(v, q) if isinstance(v, np.ndarray) else v
                           for k, v in base.items()})  # fmt: skip
    closed["_q"] = np.tile(np.arange(1, q + 1), n)
    closed["response"] = likert.ravel()
    closed["theme"] = None
    open_q = pd.DataFrame({k: v[answered_open] if isinstance(v, np.ndarray) else v
                           for k, v in base.items()})  # fmt: skip
    open_q["_q"] = q + 1
    open_q["response"] = np.nan
    open_q["theme"] = theme[answered_open]
    out = pd.concat([closed, open_q], ignore_index=True)
    out["question_id"] = spec.prefix + "_q" + out["_q"].astype(str)
    return out


def _responders(
    rng: np.random.Generator, kind: str, origin: np.ndarray, stop: np.ndarray,
    data_cut: np.datetime64 | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """(respondent row, timepoint) pairs for those still taking part (by `stop` and the
    data cut, if any) who answer."""
    rows, points = [], []
    for tp in SURVEYS[kind].timepoints:
        when = origin + _td(SURVEY_DAYS[tp])
        eligible = np.isnat(stop) | (when <= stop)
        if data_cut is not None:
            eligible &= when <= data_cut
        answers = eligible & (rng.random(len(origin)) < SURVEYS[kind].response_rate)
        rows.append(np.flatnonzero(answers))
        points.append(np.full(int(answers.sum()), tp, dtype=object))
    return np.concatenate(rows), np.concatenate(points)


def _surveys(
    rng: np.random.Generator, trial: pd.DataFrame, volunteers: pd.DataFrame
) -> pd.DataFrame:
    """Family, volunteer and volunteer-child surveys."""
    parts = []
    fam = trial[trial["arm"] == "sffc"]
    rows, tp = _responders(
        rng, "family", fam["randomised_date"].to_numpy(), fam["withdrawal_date"].to_numpy()
    )
    parts.append(_survey_answers(rng, "family", fam["family_id"].to_numpy()[rows],
                                 fam["hub_id"].to_numpy()[rows], tp))  # fmt: skip

    origin = np.maximum(volunteers["start_date"].to_numpy(), TRIAL_START)
    v_end = volunteers["end_date"].to_numpy()
    rows, tp = _responders(rng, "volunteer", origin, v_end, DELIVERY_DATA_CUT)
    parts.append(_survey_answers(rng, "volunteer", volunteers["volunteer_id"].to_numpy()[rows],
                                 volunteers["hub_id"].to_numpy()[rows], tp))  # fmt: skip

    hosts = np.flatnonzero(
        (volunteers["role"] == "host").to_numpy() & volunteers["has_children"].to_numpy()
    )
    k = 1 + rng.binomial(VOLUNTEER_CHILDREN_EXTRA_MAX, VOLUNTEER_CHILDREN_EXTRA_P, len(hosts))
    parent = np.repeat(hosts, k)
    number = np.arange(len(parent)) - np.repeat(np.cumsum(k) - k, k) + 1
    kid_id = np.array(
        [f"{v}-C{c}" for v, c in zip(volunteers["volunteer_id"].to_numpy()[parent], number,
                                        strict=True)], dtype=object
    )  # fmt: skip
    rows, tp = _responders(rng, "volunteer_child", origin[parent], v_end[parent], DELIVERY_DATA_CUT)
    parts.append(_survey_answers(rng, "volunteer_child", kid_id[rows],
                                 volunteers["hub_id"].to_numpy()[parent][rows], tp))  # fmt: skip

    out = pd.concat(parts, ignore_index=True)
    out["_kind"] = out["respondent_type"].map({k: i for i, k in enumerate(SURVEYS)})
    out["_tp"] = out["timepoint"].map({k: i for i, k in enumerate(SURVEY_DAYS)})
    out = out.sort_values(["_kind", "respondent_id", "_tp", "_q"], kind="stable")
    return out[TABLES["surveys"].column_names].reset_index(drop=True)


# === costs ================================================================================
def _quarters() -> list[tuple[np.datetime64, np.datetime64]]:
    """(first day, last day) of each calendar quarter of COST_YEARS."""
    starts = [np.datetime64(f"{y}-{m:02d}-01", "D") for y in COST_YEARS for m in (1, 4, 7, 10)]
    ends = [*starts[1:], np.datetime64(f"{COST_YEARS[-1] + 1}-01-01", "D")]
    return [(s, e - np.timedelta64(1, "D")) for s, e in zip(starts, ends, strict=True)]


def _costs(rng: np.random.Generator, hubs: pd.DataFrame, trial: pd.DataFrame) -> pd.DataFrame:
    """Quarterly cost lines: hub delivery (fixed + per SFFC family), central, usual services.

    Variable costs follow the quarter of randomisation (families randomised after the last
    quarter are counted in it).
    """
    quarters = _quarters()
    q_starts = np.array([s for s, _ in quarters])
    quarter = np.searchsorted(q_starts, trial["randomised_date"].to_numpy(), side="right") - 1
    quarter = np.clip(quarter, 0, len(quarters) - 1)
    hub_idx = pd.Index(hubs["hub_id"]).get_indexer(trial["hub_id"])
    counts = {}
    for arm in ARMS:
        mask = (trial["arm"] == arm).to_numpy()
        grid = np.zeros((len(hubs), len(quarters)))
        np.add.at(grid, (hub_idx[mask], quarter[mask]), 1)
        counts[arm] = grid
    rows = []
    hub_total = HUB_FIXED_COST / len(quarters) + HUB_COST_PER_FAMILY * counts["sffc"]
    for h, hub in enumerate(hubs["hub_id"]):
        for q, (start, end) in enumerate(quarters):
            for category, share in HUB_COST_SHARES.items():
                rows.append((hub, start, end, category, hub_total[h, q] * share))
            rows.append((hub, start, end, "usual_services",
                         USUAL_SERVICES_PER_FAMILY * counts["usual"][h, q]))  # fmt: skip
    central = CENTRAL_FIXED_COST / len(quarters) + CENTRAL_COST_PER_FAMILY * counts["sffc"].sum(0)
    for q, (start, end) in enumerate(quarters):
        rows.append(("central", start, end, "central", central[q]))
    costs = pd.DataFrame(rows, columns=["hub_id", "period_start", "period_end", "category",
                                        "amount_gbp"])  # fmt: skip
    noise = rng.lognormal(0, COST_NOISE_SD, len(costs))
    costs["amount_gbp"] = np.round(costs["amount_gbp"] * noise, 2)
    # cash prices of the financial year (April-March) the quarter starts in, by its first year
    start = pd.DatetimeIndex(costs["period_start"])
    costs["price_year"] = start.year - (start.month < 4)
    return costs


# === SSDA903 ==============================================================================
def _ssda903(
    rng: np.random.Generator,
    las: pd.DataFrame,
    *,
    window_start: np.datetime64 = S903_WINDOW_START,
    extract: np.datetime64 = S903_EXTRACT_DATE,
    starts_per_10k: float = S903_STARTS_PER_10K_PER_YEAR,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Synthetic SSDA903 header and episodes per LA, with the planted profile share: children
    starting care from `window_start` to the `extract` date at `starts_per_10k` a year."""
    window = _day_diff(extract, window_start) + 1
    expected = las["child_population"].to_numpy() * starts_per_10k / 1e4 * window / DAYS_PER_YEAR
    per_la = rng.poisson(expected)
    la = np.repeat(np.arange(len(las)), per_la)
    n = len(la)
    start = window_start + _td(rng.integers(0, window, n))
    profile = rng.random(n) < PROFILE_SHARE
    age = np.where(
        profile, _age_days(rng, S903_PROFILE_AGE_BANDS, n), _age_days(rng, S903_AGE_BANDS, n)
    )
    first = _s903_periods(rng, start, age, profile)
    closed = first["end"] <= extract
    again = closed & ~profile & (rng.random(n) < S903_REENTRY)
    re_start = first["end"][again] + _td(
        _uniform_days(rng, S903_REENTRY_GAP_DAYS, int(again.sum()))
    )
    in_window = re_start <= extract
    child_of_re = np.flatnonzero(again)[in_window]
    re_start = re_start[in_window]
    re_age = age[child_of_re] + _day_diff(re_start, start[child_of_re])
    second = _s903_periods(rng, re_start, re_age, np.zeros(len(re_start), dtype=bool))
    period_child = np.r_[np.arange(n), child_of_re]
    periods = {k: np.r_[first[k], second[k]] for k in first}
    profile_periods = np.r_[profile, np.zeros(len(re_start), bool)]
    episodes = _s903_episodes(rng, periods, profile_periods, extract)

    # CHILD ids numbered per LA in order of first entry
    order = np.lexsort((start, la))
    number = np.empty(n, dtype=int)
    number[order] = np.arange(n) - np.repeat(np.cumsum(per_la) - per_la, per_la)
    child_id = (S903_CHILD_ID_START + number).astype(str)
    la_code = las["la_code"].to_numpy()
    letter = rng.integers(0, len(S903_UPN_LETTERS), n)
    digits = rng.integers(0, 10**S903_UPN_DIGITS, n)
    upn = np.array(
        [
            f"{S903_UPN_LETTERS[a]}{b:0{S903_UPN_DIGITS}d}"
            for a, b in zip(letter, digits, strict=True)
        ],
        dtype=object,
    )
    upn[rng.random(n) < S903_UPN_MISSING] = None
    header = (
        pd.DataFrame(
            {
                "la_code": la_code[la],
                "CHILD": child_id,
                "SEX": np.where(rng.random(n) < S903_MALE, 1, 2),
                "DOB": start - _td(age),
                "ETHNIC": _draw(rng, S903_ETHNIC, n),
                "UPN": upn,
            }
        )
        .iloc[order]
        .reset_index(drop=True)
    )
    ep_child = period_child[episodes["_period"]]
    episodes["la_code"] = la_code[la[ep_child]]
    episodes["CHILD"] = child_id[ep_child]
    episodes["_order"] = np.argsort(order)[ep_child]  # header order
    episodes = episodes.sort_values(["_order", "DECOM"], kind="stable", ignore_index=True)
    fits = profile & closed  # only first periods are planted; re-entries never fit
    facts = {
        "children": int(n),
        "periods": int(len(period_child)),
        "episodes": int(len(episodes)),
        "profile_children": int(fits.sum()),
        "profile_share_children": round(float(fits.sum() / max(n, 1)), 4),
        "profile_share_periods": round(float(fits.sum() / max(len(period_child), 1)), 4),
    }
    return header, episodes[TABLES["ssda903_episodes"].column_names], facts


def _age_days(
    rng: np.random.Generator, bands: Mapping[tuple[int, int], float], n: int
) -> np.ndarray:
    """Ages in days: a band by weight, then uniform within it (clear of birthdays)."""
    keys = list(bands)
    p = np.array([bands[k] for k in keys], dtype=float)
    pick = rng.choice(len(keys), n, p=p / p.sum())
    low = np.array([k[0] for k in keys])[pick] * DAYS_PER_YEAR + AGE_MARGIN_DAYS
    high = np.array([k[1] for k in keys])[pick] * DAYS_PER_YEAR - AGE_MARGIN_DAYS
    return np.floor(rng.uniform(low, high)).astype(int)


def _s903_periods(
    rng: np.random.Generator, start: np.ndarray, age: np.ndarray, profile: np.ndarray
) -> dict[str, np.ndarray]:
    """Periods of care: start, length, first legal status, category of need, end.

    Profile periods: V2, under 14 days. Other periods of children aged 10 or under that start
    under V2 last 14 days or more, so that only planted periods fit the profile.
    """
    n = len(start)
    ls = np.where(profile, "V2", _draw(rng, S903_START_LS, n))
    classes = list(S903_DURATION_CLASSES)
    pick = _draw(rng, {i: S903_DURATION_CLASSES[c] for i, c in enumerate(classes)}, n).astype(int)
    young = age < (S903_PROFILE_MAX_AGE + 1) * DAYS_PER_YEAR + AGE_MARGIN_DAYS
    pick = np.where(~profile & young & (ls == "V2") & (pick == 0), 1, pick)  # not the profile
    low = np.array([c[0] for c in classes])[pick]
    high = np.array([c[1] for c in classes])[pick]
    length = np.where(
        profile, rng.integers(1, S903_PROFILE_MAX_DAYS + 1, n), rng.integers(low, high + 1)
    )
    return {
        "start": start,
        "length": length,
        "ls": ls,
        "cin": _draw(rng, S903_CIN, n),
        "end": start + _td(length),
    }


def _s903_episodes(
    rng: np.random.Generator,
    periods: dict[str, np.ndarray],
    profile: np.ndarray,
    extract: np.datetime64 = S903_EXTRACT_DATE,
) -> pd.DataFrame:
    """Split each period into X1-linked episodes; cut at the extract date."""
    length = periods["length"]
    n = len(length)
    moves = np.where(
        profile,
        (rng.random(n) < S903_PROFILE_SPLIT).astype(int),
        rng.poisson(length / DAYS_PER_YEAR * S903_MOVES_PER_YEAR),
    )
    k = np.minimum(1 + moves, np.minimum(length, S903_MAX_EPISODES))
    period = np.repeat(np.arange(n), k)
    first = np.repeat(np.cumsum(k) - k, k)
    j = np.arange(len(period)) - first
    last = j == k[period] - 1
    # split the length into k parts of at least a day: 1 + floor(share of the spare days)
    w = rng.exponential(1.0, len(period))
    share = w / pd.Series(w).groupby(period).transform("sum").to_numpy()
    part = 1 + np.floor(share * (length - k)[period]).astype(int)
    before = pd.Series(part).groupby(period).cumsum().to_numpy() - part
    part = np.where(last, length[period] - before, part)
    decom = periods["start"][period] + _td(before)
    dec = decom + _td(part)

    is_profile = profile[period]
    rne = np.where(
        j == 0,
        "S",
        np.where(is_profile, _draw(rng, S903_PROFILE_RNE, len(period)),
                 _draw(rng, S903_LATER_RNE, len(period))),
    )  # fmt: skip
    changes = pd.Series(np.isin(rne, S903_LEGAL_CHANGE_RNE)).groupby(period).cumsum().to_numpy()
    ls = periods["ls"][period].astype(object)
    for step in range(int(changes.max(initial=0))):
        move = changes > step
        ls[move] = pd.Series(ls[move]).map(S903_LS_CHANGE).to_numpy()
    place = np.where(is_profile, _draw(rng, S903_PROFILE_PLACE, len(period)),
                     _draw(rng, S903_PLACE, len(period)))  # fmt: skip
    provider = _draw(rng, S903_PROVIDER, len(period)).astype(object)
    provider[place == S903_PARENT_PLACE] = S903_PARENT_PROVIDER
    provider[place == S903_NO_PROVIDER_PLACE] = None
    rec = np.where(
        ~last,
        S903_MOVE_REC,
        np.where(is_profile, _draw(rng, S903_PROFILE_REC, len(period)),
                 _draw(rng, S903_REC, len(period))),
    ).astype(object)  # fmt: skip
    episodes = pd.DataFrame(
        {"_period": period, "DECOM": decom, "RNE": rne, "LS": ls,
         "CIN": periods["cin"][period], "PLACE": place, "PLACE_PROVIDER": provider,
         "DEC": dec, "REC": rec}
    )  # fmt: skip
    episodes = episodes[decom <= extract].reset_index(drop=True)
    still_open = episodes["DEC"].to_numpy() > extract
    episodes.loc[still_open, "DEC"] = pd.NaT
    episodes.loc[still_open, "REC"] = None
    return episodes


# === Scotland (need variant) ============================================================
def _scotland_cla(rng: np.random.Generator) -> pd.DataFrame:
    """Children starting to be looked after per Scottish LA and year (August-July): invented
    LAs, between a few and about 300 starts a year (Scotland: about 3,500 a year over 32 LAs),
    with the shares the Scotland variant of need uses."""
    n, years = len(SCOTLAND_LAS), len(SCOTLAND_YEARS)
    level = rng.uniform(*SCOTLAND_STARTS, n)
    starts = rng.poisson(np.repeat(level, years) * rng.uniform(0.85, 1.15, n * years))
    share = {
        name: rng.uniform(low, high, n * years) for name, (low, high) in SCOTLAND_SHARES.items()
    }
    return pd.DataFrame(
        {
            "la_code": np.repeat([code for code, _ in SCOTLAND_LAS], years),
            "la_name": np.repeat([name for _, name in SCOTLAND_LAS], years),
            "year": np.tile(SCOTLAND_YEARS, n),
            "starts": starts,
            **{name: np.round(values, 3) for name, values in share.items()},
        }
    )


# === output ===============================================================================
def _csv_field(text: str) -> str:
    """Quote a CSV field when it needs it (RFC 4180, as csv.QUOTE_MINIMAL does)."""
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _format_column(values: pd.Series, kind: str, decimals: int | None) -> np.ndarray:
    """CSV fields of one column in the contract's layout; each distinct value is formatted
    once, which keeps writing millions of rows fast."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if kind == "date":
        text = [pd.Timestamp(u).strftime("%Y-%m-%d") for u in uniques]
    elif kind == "date_dmy":
        text = [pd.Timestamp(u).strftime("%d/%m/%Y") for u in uniques]
    elif kind == "bool":
        text = ["true" if u else "false" for u in uniques]
    elif kind == "int":
        text = [str(int(u)) for u in uniques]
    elif kind == "float":
        text = [f"{u:.{decimals}f}" for u in uniques]
    else:
        text = [_csv_field(str(u)) for u in uniques]
    return np.array([*text, ""], dtype=object)[codes]


def _write_bytes(path: Path, data: bytes) -> Path:
    """Write atomically: readers never see a half-written file."""
    with temporary_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def _write_table(out_dir: Path, name: str, df: pd.DataFrame) -> Path:
    """The table as CSV: header, then rows in order, "\n" line ends."""
    columns = [
        _format_column(df[col.name], col.kind, FLOAT_DECIMALS.get((name, col.name)))
        for col in TABLES[name].columns
    ]
    lines = [",".join(TABLES[name].column_names), *map(",".join, zip(*columns, strict=True))]
    return _write_bytes(out_dir / f"{name}.csv", ("\n".join(lines) + "\n").encode("utf-8"))


def _truth(
    seed: int, hubs: pd.DataFrame, las: pd.DataFrame, families: pd.DataFrame,
    trial: pd.DataFrame, tables: Mapping[str, pd.DataFrame], s903: dict,
) -> dict:  # fmt: skip
    """The planted effects, the design and a few realised facts, for truth.json."""
    arm = trial.set_index("family_id")["arm"]
    n_arm = arm.value_counts().reindex(list(ARMS), fill_value=0)
    costs, support = tables["costs"], tables["support"]
    delivery = costs.loc[costs["category"] != "usual_services", "amount_gbp"].sum()
    week8 = tables["measures"].loc[tables["measures"]["timepoint"] == "week8", "family_id"]
    supported = support["family_id"].drop_duplicates()

    def by_arm(family_ids: pd.Series) -> dict[str, int]:
        """Distinct randomised families among `family_ids`, per arm."""
        counts = arm.loc[family_ids.drop_duplicates()].value_counts()
        return {a: int(counts.get(a, 0)) for a in ARMS}

    return {
        "seed": seed,
        "sizes": {
            "n_hubs": len(hubs),
            "n_las": len(las),
            "n_families": len(families),
            "n_randomised": len(trial),
            **{f"n_{a}": int(n_arm[a]) for a in ARMS},
        },
        "effects": copy.deepcopy(TRUE_EFFECTS),
        "latent_shifts": {name: round(latent_shift(name), 4) for name in LATENTS},
        "design": {
            "trial_start": str(TRIAL_START),
            "recruitment_days": RECRUITMENT_DAYS,
            "max_days_to_randomisation": MAX_DAYS_TO_RANDOMISATION,
            "allocation": "1:1, permuted blocks of 2 or 4, stratified by hub and referral_group",
            "block_sizes": list(BLOCK_SIZES),
            "follow_up_days": FOLLOW_UP_DAYS,
            "week8_days": WEEK8_DAYS,
            "week8_window_days": WEEK8_WINDOW,
            "week8_missing_mechanism": "whole visit; MAR given arm and referral_group",
            "effect_heterogeneity": "none: the same effects in every hub and referral group",
            "effects_scale": "differences of expected scored totals (SDQ total difficulties, "
            "GAD-7 total, MSPSS mean item); latent_shifts are the latent-scale shifts that "
            "give them",
            "baseline_targets": {
                "sdq_total": {"mean": 16.0, "sd": 6.0},
                "gad7": {"mean": 9.0, "sd": 5.0},
                "mspss": {"mean": 4.2, "sd": 1.2},
                "baseline_week8_r": 0.55,
            },
            "delivery_data_cut": str(DELIVERY_DATA_CUT),
            "ssda903_window": [str(S903_WINDOW_START), str(S903_EXTRACT_DATE)],
            "ssda903_starts_per_10k_per_year": S903_STARTS_PER_10K_PER_YEAR,
            "profile_definition": "period of care (RNE S to the last X1-linked episode) of a "
            "child aged 10 or under at its start, LS V2 throughout, ended under 14 days after "
            "it started (periods open at the extract do not count)",
        },
        "realised": {
            "week8_families": by_arm(week8),
            "withdrawn": by_arm(tables["withdrawals"]["family_id"]),
            "supported": by_arm(supported),
            "delivery_cost_per_sffc_family": round(float(delivery / max(n_arm["sffc"], 1)), 2),
            "ssda903": s903,
        },
    }
