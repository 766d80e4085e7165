import type { FinalPrice } from '../pricing/final-price.ts';
import { html, type SafeHtml } from './html.ts';
import { formatPrice } from './price-display.ts';
import type { ProductPage, StorefrontCategory, StorefrontProduct } from './storefront-catalog.ts';

/**
 * The price box. The server renders the price it computes itself (the no-JS fallback); in the
 * browser, /static/price-box.js then asks the final-price REST endpoint for the same sku and group
 * and replaces the figures, so whichever service answers that endpoint is what the shopper sees.
 */
export function priceBox(sku: string, price: FinalPrice, customerGroupId: number): SafeHtml {
  const discounted = price.finalPrice < price.regularPrice;
  return html`<div class="price-box" data-role="price-box" data-sku="${sku}" data-customer-group-id="${customerGroupId}" data-qty="1" data-price-source="server">
  <span class="price-wrapper final-price"><span class="price" data-price-type="finalPrice">${formatPrice(price.finalPrice)}</span></span>
  <span class="old-price" data-price-type="oldPrice"${discounted ? html`` : html` hidden`}>Regular Price <span class="price">${formatPrice(price.regularPrice)}</span></span>
</div>`;
}

function productCard(product: StorefrontProduct, price: FinalPrice | undefined, groupId: number): SafeHtml {
  return html`<li class="product-item">
  <a class="product-item-link" href="/catalog/product/view/id/${product.id}">${product.name}</a>
  <div class="product-item-sku">SKU: ${product.sku}</div>
  ${price ? priceBox(product.sku, price, groupId) : html``}
</li>`;
}

export function homeView(categories: StorefrontCategory[], featured: StorefrontProduct[], prices: Map<number, FinalPrice>, groupId: number): SafeHtml {
  return html`<h1 class="page-title">Welcome to the shop</h1>
<section class="categories">
  <h2>Shop by category</h2>
  ${categories.length === 0 ? html`<p class="empty">No categories yet.</p>` : html`<ul class="category-list">${categories.map(
    (category) => html`<li><a href="/catalog/category/view/id/${category.id}">${category.name}</a> <span class="count">(${category.productCount})</span></li>`,
  )}</ul>`}
</section>
<section class="featured">
  <h2>Featured products</h2>
  <ol class="products-grid">${featured.map((product) => productCard(product, prices.get(product.id), groupId))}</ol>
</section>`;
}

export function categoryView(category: { id: number; name: string }, page: ProductPage, prices: Map<number, FinalPrice>, groupId: number): SafeHtml {
  const first = page.total === 0 ? 0 : (page.page - 1) * page.pageSize + 1;
  const last = Math.min(page.total, page.page * page.pageSize);
  const link = (p: number) => `/catalog/category/view/id/${category.id}?p=${p}`;
  return html`<h1 class="page-title">${category.name}</h1>
<p class="toolbar-amount">Items <span class="toolbar-number">${first}</span>-<span class="toolbar-number">${last}</span> of <span class="toolbar-number">${page.total}</span></p>
${page.items.length === 0 ? html`<p class="message info empty">We can't find products matching the selection.</p>` : html`<ol class="products-grid">${page.items.map((product) => productCard(product, prices.get(product.id), groupId))}</ol>`}
<nav class="pages" aria-label="Pages">
  ${page.page > 1 ? html`<a class="action previous" rel="prev" href="${link(page.page - 1)}">Previous</a>` : html``}
  <span class="current">Page ${page.page} of ${page.lastPage}</span>
  ${page.page < page.lastPage ? html`<a class="action next" rel="next" href="${link(page.page + 1)}">Next</a>` : html``}
</nav>`;
}

export function productView(product: StorefrontProduct, price: FinalPrice, groupId: number, formKey: string): SafeHtml {
  return html`<div class="product-info-main" itemscope itemtype="https://schema.org/Product">
  <h1 class="page-title" itemprop="name">${product.name}</h1>
  <div class="product attribute sku">SKU: <span itemprop="sku">${product.sku}</span></div>
  ${priceBox(product.sku, price, groupId)}
  <div class="stock ${product.inStock ? 'available' : 'unavailable'}">${product.inStock ? 'In stock' : 'Out of stock'}</div>
  <form class="product-addtocart-form" action="/checkout/cart/add" method="post">
    <input type="hidden" name="product" value="${product.id}">
    <input type="hidden" name="form_key" value="${formKey}">
    <label for="qty">Qty</label> <input id="qty" type="number" name="qty" value="1" min="1" step="1">
    <button type="submit" class="action tocart primary"${product.inStock ? html`` : html` disabled`}>Add to Cart</button>
  </form>
  ${product.shortDescription ? html`<div class="product attribute overview">${product.shortDescription}</div>` : html``}
  ${product.description ? html`<div class="product attribute description" itemprop="description">${product.description}</div>` : html``}
</div>`;
}

export function messageView(title: string, message: string, link: { href: string; label: string } = { href: '/', label: 'Continue shopping' }): SafeHtml {
  return html`<h1 class="page-title">${title}</h1>
<div class="message error" role="alert">${message}</div>
<p><a href="${link.href}">${link.label}</a></p>`;
}
