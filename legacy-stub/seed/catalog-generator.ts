import { dayOffset, formatMagentoDate } from '../catalog/magento-date.ts';
import type { SeededRandom } from './seeded-random.ts';

/**
 * Generates the seed's products, one at a time from one random stream, so the same random seed
 * and the same `now` give the same catalog. Nothing here touches the database: seed.ts turns
 * the products into bulk inserts.
 */
export interface GeneratedProduct {
  sku: string;
  typeId: 'simple' | 'virtual';
  attributeSetId: number;
  createdAt: string;
  updatedAt: string;
  /** EAV values for the admin store (store_id 0), by attribute code, as the text PostgreSQL casts. */
  values: Array<readonly [code: string, value: string]>;
  tierPrices: Array<{ allGroups: 0 | 1; customerGroupId: number; qty: string; value: string; percentageValue: string | null }>;
  categories: Array<{ key: string; position: number }>;
  stock: { qty: string; isInStock: 0 | 1 };
}

export interface GeneratorContext {
  now: Date;
  /** option_ids of the select attributes, in sort order, as the reference data wrote them. */
  optionIds: { color: readonly number[]; size: readonly number[] };
}

interface Family {
  code: string;
  noun: string;
  attributeSetId: number;
  category: string;
  price: readonly [number, number];
  weight: readonly [number, number] | null;
  sized: boolean;
  colored: boolean;
  materials: readonly string[];
}

// Attribute set ids as in Magento's sample data (4 Default, 9 Top, 10 Bottom, 11 Gear, 15 Bag).
const fabrics = ['Cotton', 'Organic Cotton', 'Polyester', 'Recycled Polyester', 'Nylon', 'Merino Wool', 'Spandex', 'Fleece'];
const families: readonly Family[] = [
  { code: 'MT', noun: 'Tee', attributeSetId: 9, category: 'men-tops', price: [18, 45], weight: [0.15, 0.4], sized: true, colored: true, materials: fabrics },
  { code: 'MH', noun: 'Hoodie', attributeSetId: 9, category: 'men-tops', price: [45, 95], weight: [0.5, 1.1], sized: true, colored: true, materials: fabrics },
  { code: 'MJ', noun: 'Jacket', attributeSetId: 9, category: 'men-tops', price: [60, 190], weight: [0.6, 1.8], sized: true, colored: true, materials: fabrics },
  { code: 'MP', noun: 'Pant', attributeSetId: 10, category: 'men-bottoms', price: [35, 95], weight: [0.4, 0.9], sized: true, colored: true, materials: fabrics },
  { code: 'MS', noun: 'Short', attributeSetId: 10, category: 'men-bottoms', price: [20, 55], weight: [0.2, 0.5], sized: true, colored: true, materials: fabrics },
  { code: 'WT', noun: 'Tank', attributeSetId: 9, category: 'women-tops', price: [18, 42], weight: [0.1, 0.3], sized: true, colored: true, materials: fabrics },
  { code: 'WB', noun: 'Bra Top', attributeSetId: 9, category: 'women-tops', price: [25, 60], weight: [0.1, 0.25], sized: true, colored: true, materials: fabrics },
  { code: 'WH', noun: 'Pullover', attributeSetId: 9, category: 'women-tops', price: [40, 90], weight: [0.4, 0.9], sized: true, colored: true, materials: fabrics },
  { code: 'WP', noun: 'Legging', attributeSetId: 10, category: 'women-bottoms', price: [30, 80], weight: [0.2, 0.4], sized: true, colored: true, materials: fabrics },
  { code: 'WS', noun: 'Skirt', attributeSetId: 10, category: 'women-bottoms', price: [28, 70], weight: [0.2, 0.5], sized: true, colored: true, materials: fabrics },
  { code: 'UB', noun: 'Backpack', attributeSetId: 15, category: 'gear-bags', price: [39, 120], weight: [0.6, 1.6], sized: false, colored: true, materials: ['Nylon', 'Polyester', 'Leather', 'Canvas'] },
  { code: 'UD', noun: 'Duffle Bag', attributeSetId: 15, category: 'gear-bags', price: [34, 99], weight: [0.7, 1.5], sized: false, colored: true, materials: ['Nylon', 'Polyester', 'Canvas'] },
  { code: 'UM', noun: 'Yoga Mat', attributeSetId: 11, category: 'gear-fitness', price: [19, 75], weight: [0.9, 2.5], sized: false, colored: true, materials: ['Rubber', 'Cork', 'TPE'] },
  { code: 'UW', noun: 'Water Bottle', attributeSetId: 11, category: 'gear-fitness', price: [7, 32], weight: [0.1, 0.4], sized: false, colored: true, materials: ['Stainless Steel', 'Tritan', 'Aluminium'] },
  { code: 'UK', noun: 'Kettlebell', attributeSetId: 11, category: 'gear-fitness', price: [22, 110], weight: [4, 24], sized: false, colored: false, materials: ['Cast Iron', 'Vinyl'] },
  { code: 'UX', noun: 'Watch', attributeSetId: 11, category: 'gear-watches', price: [45, 320], weight: [0.05, 0.2], sized: false, colored: true, materials: ['Stainless Steel', 'Silicone', 'Leather', 'Titanium'] },
  { code: 'GC', noun: 'Gift Card', attributeSetId: 4, category: 'gear', price: [10, 200], weight: null, sized: false, colored: false, materials: [] },
];

const adjectives = [
  'Radiant', 'Breathe-Easy', 'Argus', 'Orion', 'Helios', 'Chaz', 'Atlas', 'Zephyr', 'Nona', 'Cassius', 'Proteus',
  'Ajax', 'Hera', 'Juno', 'Layla', 'Mona', 'Selene', 'Taurus', 'Kratos', 'Aero', 'Summit', 'Trail', 'Everyday',
  'Endurance', 'Classic', 'Tempo', 'Stellar', 'Nimbus', 'Ida', 'Echo', 'Sprite', 'Fusion', 'Driven', 'Impulse',
];
const qualifiers = [
  'Crew', 'Performance', 'Running', 'Training', 'Lightweight', 'Insulated', 'Hybrid', 'Compression', 'Seamless',
  'Heathered', 'Quilted', 'Packable', 'Trail', 'Studio', 'All-Weather', 'Essential',
];
const words = (
  'comfort stretch fabric moisture wicking breathable seams durable soft lightweight fit stride training gym run ' +
  'trail studio yoga everyday layer warmth cool dry quick pocket zipper hood sleeve waistband drawcord mesh panel ' +
  'reflective detail design classic modern style athletic support flexible strong recycled sustainable material ' +
  'easy care machine wash tumble performance motion freedom shape hold secure adjustable strap padded handle ' +
  'capacity compartment laptop bottle insulated leakproof grip surface cushion balance weight solid steel finish ' +
  'display battery water resistant band buckle dial accurate sport tracking season summer winter morning session ' +
  'outdoor indoor commute travel weekend favourite iconic signature premium essential versatile'
).split(' ');

function sentence(random: SeededRandom): string {
  const length = random.int(8, 18);
  const parts: string[] = [];
  for (let i = 0; i < length; i += 1) parts.push(random.pick(words));
  const text = parts.join(' ');
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}.`;
}

/** HTML like a merchant's product description; about 3 % are long (6–12 kB) so PostgreSQL TOASTs them. */
function description(random: SeededRandom, name: string): string {
  const target = random.chance(0.03) ? random.int(6_000, 12_000) : random.int(200, 900);
  const paragraphs: string[] = [`<p>The ${name} is ${random.pick(words)} and ${random.pick(words)}.</p>`];
  let length = paragraphs[0]!.length;
  while (length < target) {
    const count = random.int(2, 5);
    const sentences: string[] = [];
    for (let i = 0; i < count; i += 1) sentences.push(sentence(random));
    const paragraph = `<p>${sentences.join(' ')}</p>`;
    paragraphs.push(paragraph);
    length += paragraph.length;
  }
  return paragraphs.join('\n');
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** Prices like a merchant sets them: whole (45), half (22.50) or charm (19.99). */
function price(random: SeededRandom, [min, max]: readonly [number, number]): number {
  const whole = random.int(min, max);
  return random.weighted<number>([
    [whole, 0.5],
    [whole + 0.5, 0.2],
    [whole + 0.99, 0.3],
  ]);
}

const money = (value: number): string => value.toFixed(2);

export function generateProduct(random: SeededRandom, index: number, context: GeneratorContext): GeneratedProduct {
  const family = random.pick(families);
  const virtual = family.weight === null;
  const name = virtual
    ? `${random.pick(adjectives)} ${family.noun} ${random.pick([10, 25, 50, 100, 200])}`
    : `${random.pick(adjectives)} ${random.pick(qualifiers)} ${family.noun}`;
  const sku = `${family.code}-${String(index).padStart(6, '0')}`;
  const base = price(random, family.price);
  const createdDaysAgo = random.int(1, 730);
  const created = new Date(dayOffset(context.now, -createdDaysAgo).getTime() + random.int(0, 86_399) * 1000);
  const updated = new Date(
    Math.min(context.now.getTime(), created.getTime() + random.int(0, createdDaysAgo - 1) * 86_400_000 + random.int(0, 3600) * 1000),
  );

  const values: Array<readonly [string, string]> = [
    ['name', name],
    ['price', money(base)],
    ['status', String(random.weighted<number>([[1, 0.9], [2, 0.1]]))],
    ['visibility', String(random.weighted<number>([[4, 0.7], [2, 0.1], [3, 0.1], [1, 0.1]]))],
    ['tax_class_id', String(virtual ? 0 : 2)],
    ['url_key', `${slug(name)}-${sku.toLowerCase()}`],
    ['meta_title', name],
    ['description', description(random, name)],
  ];
  if (!virtual && family.weight) values.push(['weight', random.float(family.weight[0], family.weight[1]).toFixed(2)]);
  if (random.chance(0.5)) values.push(['cost', money(base * random.float(0.35, 0.6))]);
  if (family.colored) values.push(['color', String(random.pick(context.optionIds.color))]);
  if (family.sized) values.push(['size', String(random.pick(context.optionIds.size))]);
  if (family.materials.length > 0 && random.chance(0.6)) values.push(['material', random.pick(family.materials)]);
  if (random.chance(0.4)) values.push(['short_description', `<p>${sentence(random)}</p>`]);
  if (random.chance(0.5)) values.push(['meta_description', sentence(random).slice(0, 255)]);
  const isNew = random.chance(0.1);
  if (isNew) values.push(['news_from_date', formatMagentoDate(dayOffset(context.now, -random.int(0, 60)))]);

  // Special prices: about 30 % of products, their windows in the past, around now, or to come.
  let onSale = false;
  if (random.chance(0.3)) {
    values.push(['special_price', money(Math.max(0.01, base * random.float(0.6, 0.9)))]);
    const window = random.weighted<'past' | 'current' | 'open' | 'future'>([
      ['past', 0.3],
      ['current', 0.35],
      ['open', 0.1],
      ['future', 0.25],
    ]);
    let from: Date | null;
    let to: Date | null;
    if (window === 'past') {
      from = dayOffset(context.now, -random.int(30, 90));
      to = dayOffset(context.now, -random.int(2, 20));
    } else if (window === 'current') {
      from = random.chance(0.8) ? dayOffset(context.now, -random.int(0, 15)) : null;
      to = dayOffset(context.now, random.int(0, 20));
    } else if (window === 'open') {
      from = dayOffset(context.now, -random.int(1, 30));
      to = null;
    } else {
      from = dayOffset(context.now, random.int(3, 20));
      to = dayOffset(from, random.int(7, 30));
    }
    if (from) values.push(['special_from_date', formatMagentoDate(from)]);
    if (to) values.push(['special_to_date', formatMagentoDate(to)]);
    onSale = window === 'current' || window === 'open';
  }

  // Tier prices: about 40 % of products; a mix of all-groups and single-group, fixed and percentage.
  const tierPrices: GeneratedProduct['tierPrices'] = [];
  if (random.chance(0.4)) {
    const shape = random.int(0, 3);
    if (shape === 0 || shape === 3) {
      tierPrices.push({ allGroups: 1, customerGroupId: 0, qty: '5.0000', value: money(base * 0.95), percentageValue: null });
      tierPrices.push({ allGroups: 1, customerGroupId: 0, qty: '10.0000', value: money(base * 0.9), percentageValue: null });
    }
    if (shape === 1 || shape === 3) {
      tierPrices.push({ allGroups: 0, customerGroupId: 2, qty: '1.0000', value: '0', percentageValue: String(random.pick([5, 10, 12.5])) });
      tierPrices.push({ allGroups: 0, customerGroupId: 2, qty: '20.0000', value: '0', percentageValue: String(random.pick([15, 20, 25])) });
    }
    if (shape === 2) {
      tierPrices.push({ allGroups: 0, customerGroupId: 3, qty: '3.0000', value: money(base * 0.92), percentageValue: null });
      tierPrices.push({ allGroups: 0, customerGroupId: 1, qty: '50.0000', value: '0', percentageValue: '8' });
      tierPrices.push({ allGroups: 1, customerGroupId: 0, qty: '25.0000', value: '0', percentageValue: '10' });
    }
  }

  // One to three categories: the family's own, often its parent, and Sale / What's New when fitting.
  const categories: GeneratedProduct['categories'] = [{ key: family.category, position: random.int(0, 20) }];
  const parent = family.category.split('-')[0]!;
  if (parent !== family.category && random.chance(0.6)) categories.push({ key: parent, position: random.int(0, 20) });
  if (onSale && categories.length < 3) categories.push({ key: 'sale', position: random.int(0, 20) });
  else if (isNew && categories.length < 3) categories.push({ key: 'new', position: random.int(0, 20) });
  else if (random.chance(0.01) && categories.length < 3) categories.push({ key: 'archive', position: 0 });

  const soldOut = random.chance(0.08);
  const qty = soldOut ? 0 : random.int(1, 500);
  return {
    sku,
    typeId: virtual ? 'virtual' : 'simple',
    attributeSetId: family.attributeSetId,
    createdAt: formatMagentoDate(created),
    updatedAt: formatMagentoDate(updated),
    values,
    tierPrices,
    categories,
    stock: { qty: `${qty}.0000`, isInStock: soldOut ? 0 : 1 },
  };
}
