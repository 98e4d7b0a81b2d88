#!/usr/bin/env python3
"""Build data/amenities.json: the amenity catalogue plus Inside Airbnb aliases.

The catalogue (CATALOGUE) and the raw-string mapping (EXACT, RULES, DENY) below
are the source of truth; amenities.json is generated from them. Aliases are the
exact raw strings from the `amenities` column of
data/insideairbnb/singapore/listings.csv.gz that map to each code; strings that
are equal case-insensitively are listed once (most frequent spelling).

  python3 data/tools/build_amenities.py          # rewrite data/amenities.json, print stats
  python3 data/tools/build_amenities.py --check  # fail if amenities.json is out of date

Only reads and writes inside the data/ directory that contains this script.
"""
import collections
import csv
import gzip
import json
import os
import re
import sys

csv.field_size_limit(1 << 30)
DATA = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(DATA, 'insideairbnb', 'singapore', 'listings.csv.gz')
OUT = os.path.join(DATA, 'amenities.json')

# code, name, category
CATALOGUE = [
 # essentials
 ("wifi","Wifi","essentials"),
 ("essentials","Essentials (towels, bed sheets, soap, toilet paper)","essentials"),
 ("kitchen","Kitchen","essentials"),
 ("washer","Washer","essentials"),
 ("dryer","Dryer","essentials"),
 ("air_conditioning","Air conditioning","essentials"),
 ("heating","Heating","essentials"),
 ("hot_water","Hot water","essentials"),
 ("hangers","Hangers","essentials"),
 ("iron","Iron","essentials"),
 ("hair_dryer","Hair dryer","essentials"),
 ("bed_linens","Bed linens","essentials"),
 ("extra_pillows_and_blankets","Extra pillows and blankets","essentials"),
 ("shampoo","Shampoo","essentials"),
 ("conditioner","Conditioner","essentials"),
 ("body_soap","Body soap or shower gel","essentials"),
 # features
 ("tv","TV","features"),
 ("workspace","Dedicated workspace","features"),
 ("ethernet","Ethernet connection","features"),
 ("refrigerator","Refrigerator","features"),
 ("microwave","Microwave","features"),
 ("stove","Stove","features"),
 ("oven","Oven","features"),
 ("cooking_basics","Cooking basics","features"),
 ("dishes_and_silverware","Dishes and silverware","features"),
 ("hot_water_kettle","Hot water kettle","features"),
 ("coffee_maker","Coffee maker","features"),
 ("dishwasher","Dishwasher","features"),
 ("dining_table","Dining table","features"),
 ("pool","Pool","features"),
 ("hot_tub","Hot tub","features"),
 ("sauna","Sauna","features"),
 ("gym","Gym","features"),
 ("exercise_equipment","Exercise equipment","features"),
 ("bathtub","Bathtub","features"),
 ("bbq_grill","BBQ grill","features"),
 ("patio_or_balcony","Patio or balcony","features"),
 ("backyard","Backyard","features"),
 ("outdoor_dining_area","Outdoor dining area","features"),
 ("indoor_fireplace","Indoor fireplace","features"),
 ("fans","Ceiling or portable fans","features"),
 ("private_entrance","Private entrance","features"),
 ("clothing_storage","Clothing storage","features"),
 ("room_darkening_shades","Room-darkening shades","features"),
 # location
 ("beachfront","Beachfront","location"),
 ("beach_access","Beach access","location"),
 ("waterfront","Waterfront","location"),
 ("laundromat_nearby","Laundromat nearby","location"),
 ("city_view","City skyline view","location"),
 ("water_view","Sea, bay, harbour or river view","location"),
 ("garden_view","Garden or park view","location"),
 # safety
 ("smoke_alarm","Smoke alarm","safety"),
 ("carbon_monoxide_alarm","Carbon monoxide alarm","safety"),
 ("first_aid_kit","First aid kit","safety"),
 ("fire_extinguisher","Fire extinguisher","safety"),
 ("security_cameras","Security cameras on property","safety"),
 ("lock_on_bedroom_door","Lock on bedroom door","safety"),
 ("safe","Safe","safety"),
 # accessibility
 ("elevator","Elevator","accessibility"),
 ("single_level_home","Single level home","accessibility"),
 ("step_free_entrance","Step-free guest entrance","accessibility"),
 ("wide_entrance","Guest entrance wider than 32 inches (81 cm)","accessibility"),
 ("step_free_shower","Step-free shower","accessibility"),
 ("grab_bars","Toilet or shower grab bars","accessibility"),
 ("accessible_parking","Disabled parking spot","accessibility"),
 # family
 ("crib","Crib","family"),
 ("travel_crib","Pack 'n play / travel crib","family"),
 ("high_chair","High chair","family"),
 ("childrens_dinnerware","Children's dinnerware","family"),
 ("childrens_books_and_toys","Children's books and toys","family"),
 ("baby_bath","Baby bath","family"),
 ("changing_table","Changing table","family"),
 ("baby_monitor","Baby monitor","family"),
 ("outlet_covers","Outlet covers","family"),
 ("window_guards","Window guards","family"),
 ("babysitter_recommendations","Babysitter recommendations","family"),
 # parking
 ("free_parking","Free parking on premises","parking"),
 ("free_street_parking","Free street parking","parking"),
 ("paid_parking","Paid parking on premises","parking"),
 ("paid_parking_off_premises","Paid parking off premises","parking"),
 ("ev_charger","EV charger","parking"),
 # services
 ("self_check_in","Self check-in","services"),
 ("luggage_dropoff","Luggage drop-off allowed","services"),
 ("long_term_stays","Long-term stays allowed","services"),
 ("cleaning_during_stay","Cleaning available during stay","services"),
 ("host_greets_you","Host greets you","services"),
 ("building_staff","Building staff","services"),
 ("breakfast","Breakfast","services"),
 ("pets_allowed","Pets allowed","services"),
 ("smoking_allowed","Smoking allowed","services"),
]

def norm(s):
    s = s.replace('\u00a0', ' ').replace('\u2013', '-').replace('\u2019', "'")
    return re.sub(r'\s+', ' ', s).strip().lower()

EXACT = {
 "wifi":"wifi","essentials":"essentials","kitchen":"kitchen","hot water":"hot_water",
 "hangers":"hangers","iron":"iron","hair dryer":"hair_dryer","bed linens":"bed_linens",
 "extra pillows and blankets":"extra_pillows_and_blankets","shampoo":"shampoo",
 "conditioner":"conditioner","body soap":"body_soap","shower gel":"body_soap",
 "air conditioning":"air_conditioning","ac - split type ductless system":"air_conditioning",
 "central air conditioning":"air_conditioning","window ac unit":"air_conditioning",
 "portable air conditioning":"air_conditioning",
 "heating":"heating","central heating":"heating","heating - split type ductless system":"heating",
 "portable heater":"heating",
 "dedicated workspace":"workspace","ethernet connection":"ethernet",
 "refrigerator":"refrigerator","microwave":"microwave",
 "cooking basics":"cooking_basics","dishes and silverware":"dishes_and_silverware",
 "hot water kettle":"hot_water_kettle","dishwasher":"dishwasher","dining table":"dining_table",
 "sauna":"sauna","shared sauna":"sauna","private sauna":"sauna",
 "bathtub":"bathtub","barbecue utensils":None,
 "patio or balcony":"patio_or_balcony","private patio or balcony":"patio_or_balcony",
 "shared patio or balcony":"patio_or_balcony",
 "outdoor dining area":"outdoor_dining_area","indoor fireplace":"indoor_fireplace",
 "ceiling fan":"fans","portable fans":"fans",
 "private entrance":"private_entrance","room-darkening shades":"room_darkening_shades",
 
 "beach access - beachfront":"beachfront","public or shared beach access - beachfront":"beachfront",
 "private beach access - beachfront":"beachfront",
 "beach access":"beach_access","public or shared beach access":"beach_access","private beach access":"beach_access",
 "waterfront":"waterfront","laundromat nearby":"laundromat_nearby",
 "city skyline view":"city_view",
 "sea view":"water_view","ocean view":"water_view","bay view":"water_view","harbor view":"water_view",
 "marina view":"water_view","river view":"water_view","canal view":"water_view","lake view":"water_view",
 "beach view":"water_view",
 "garden view":"garden_view","park view":"garden_view",
 "smoke alarm":"smoke_alarm","carbon monoxide alarm":"carbon_monoxide_alarm","first aid kit":"first_aid_kit",
 "fire extinguisher":"fire_extinguisher","security cameras on property":"security_cameras",
 "lock on bedroom door":"lock_on_bedroom_door","safe":"safe",
 "elevator":"elevator","single level home":"single_level_home",
 "step-free guest entrance":"step_free_entrance","guest entrance wider than 32 inches":"wide_entrance",
 "step-free shower":"step_free_shower","toilet grab bar":"grab_bars","shower grab bar":"grab_bars",
 "disabled parking spot":"accessible_parking",
 "children's dinnerware":"childrens_dinnerware","window guards":"window_guards","outlet covers":"outlet_covers",
 "babysitter recommendations":"babysitter_recommendations",
 "free street parking":"free_street_parking","ev charger":"ev_charger",
 "self check-in":"self_check_in","keypad":"self_check_in","lockbox":"self_check_in","smart lock":"self_check_in","luggage dropoff allowed":"luggage_dropoff",
 "long term stays allowed":"long_term_stays","cleaning available during stay":"cleaning_during_stay",
 "host greets you":"host_greets_you","building staff":"building_staff","breakfast":"breakfast",
 "pets allowed":"pets_allowed","smoking allowed":"smoking_allowed",
 "kitchenette":None, "pocket wifi":None,
}

RULES = [  # (regex on normalized string, code) -- first match wins
 (r"^(fast )?wifi - \d+ mbps$", "wifi"),
 (r"^((free|paid) )?washer( - in (unit|building))?$", "washer"),
 (r"^((free|paid) )?dryer( - in (unit|building))?$", "dryer"),
 (r"^(\d+\" )?(hd)?tv( with .*)?$", "tv"),
 (r"^(shared |private )?(outdoor |indoor )?pool( -.*)?$", "pool"),
 (r"^(shared |private )?hot tub( - .*)?$", "hot_tub"),
 (r"^(shared |private )?gym( in building)?$", "gym"),
 (r"^exercise equipment(: .*)?$", "exercise_equipment"),
 (r"^(shared |private )?bbq grill(: .*)?$", "bbq_grill"),
 (r"^(shared |private )?backyard( - (fully|not fully) fenced)?$", "backyard"),
 (r"^clothing storage(: .*)?$", "clothing_storage"),
 (r"^coffee maker(: .*)?$", "coffee_maker"),
 (r".*\brefrigerator$", "refrigerator"),
 (r".*\b(induction |electric |gas )?stove$", "stove"),
 (r".*\b(single |double )?oven$", "oven"),
 (r"^(paid )?crib( - .*)?$", "crib"),
 (r"^pack 'n play/travel crib( - .*)?$", "travel_crib"),
 (r"^(standalone )?high chair( - .*)?$", "high_chair"),
 (r"^children's books and toys( for ages .*)?$", "childrens_books_and_toys"),
 (r"^baby bath( - .*)?$", "baby_bath"),
 (r"^baby monitor( - .*)?$", "baby_monitor"),
 (r"^changing table( - .*)?$", "changing_table"),
 (r"^free (parking|parking garage|driveway parking|residential garage|carport) on premises( - \d+ spaces?)?$", "free_parking"),
 (r"^paid (parking|parking lot|parking garage) on premises( - \d+ spaces?)?$", "paid_parking"),
 (r"^paid (parking|parking lot|parking garage|street parking) off premises( - \d+ spaces?)?$", "paid_parking_off_premises"),
 # brand-prefixed toiletries: "<brand> shampoo" etc.
 (r".+ shampoo$", "shampoo"),
 (r".+ body soap$", "body_soap"),
]
# raw strings that look like they match a rule but should not be mapped
DENY = {
 "daikin conditioner", "mitsubishi conditioner",  # almost certainly air-conditioner brands, ambiguous
}
CONDITIONER_RULE = r".+ conditioner$"

def classify(raw):
    n = norm(raw)
    if n in DENY: return None
    if n in EXACT: return EXACT[n]
    for rx, code in RULES:
        if re.match(rx, n): return code
    if re.match(CONDITIONER_RULE, n) and "air" not in n: return "conditioner"
    return None

def main():
    freq = collections.Counter()
    with gzip.open(SRC, 'rt', encoding='utf-8', newline='') as f:
        for r in csv.DictReader(f):
            for a in json.loads(r['amenities']): freq[a] += 1
    codes = [c for c,_,_ in CATALOGUE]
    assert len(codes) == len(set(codes))
    aliases = collections.defaultdict(list)
    seen_ci = {}
    ranked = sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))
    unmapped = []
    for i,(raw,n) in enumerate(ranked):
        code = classify(raw)
        if code is None:
            unmapped.append((i,n,raw)); continue
        assert code in codes, (raw, code)
        k = raw.casefold()
        if k in seen_ci:
            assert seen_ci[k] == code; continue   # case-insensitive duplicate: keep most frequent spelling
        seen_ci[k] = code
        aliases[code].append(raw)
    items = []
    for code,name,cat in sorted(CATALOGUE):
        items.append({"code":code,"name":name,"category":cat,
                      "aliases":sorted(aliases.get(code,[]), key=lambda s:(s.casefold(), s))})
    lines = ["["]
    for j,it in enumerate(items):
        s = json.dumps(it, ensure_ascii=False)
        s = s.replace('\u00a0', '\\u00a0')
        lines.append("  " + s + ("," if j < len(items)-1 else ""))
    lines.append("]")
    text = "\n".join(lines) + "\n"
    if '--check' in sys.argv[1:]:
        same = os.path.exists(OUT) and open(OUT, encoding='utf-8').read() == text
        print('amenities.json is up to date' if same else 'amenities.json is out of date')
        return 0 if same else 1
    with open(OUT, 'w', encoding='utf-8', newline='\n') as f:
        f.write(text)
    top = ranked[:150]
    mapped_top = sum(1 for raw,_ in top if classify(raw))
    occ = sum(freq.values()); mocc = sum(n for raw,n in freq.items() if classify(raw))
    print(f"amenities={len(items)} aliases={sum(len(v) for v in aliases.values())} distinct_raw={len(freq)}")
    print(f"top150 mapped={mapped_top}; occurrence coverage={mocc}/{occ}={mocc/occ:.4f}")
    print("unmapped among the 230 most frequent raw strings (rank, listings, string):")
    for i,n,raw in unmapped:
        if i < 230: print(" ",i,n,repr(raw))
    print("codes without aliases:", [c for c in codes if not aliases.get(c)])
    return 0


if __name__ == '__main__':
    sys.exit(main())
