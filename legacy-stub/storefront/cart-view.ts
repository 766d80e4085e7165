import { formatMicros } from '../pricing/money.ts';
import type { Cart } from './cart.ts';
import { html, type SafeHtml } from './html.ts';
import { formatPrice } from './price-display.ts';

export function cartView(cart: Cart, customerGroupCode: string): SafeHtml {
  if (cart.lines.length === 0) {
    return html`<h1 class="page-title">Shopping Cart</h1>
<div class="cart-empty"><p>You have no items in your shopping cart.</p><p><a href="/">Continue shopping</a></p></div>`;
  }
  return html`<h1 class="page-title">Shopping Cart</h1>
<p class="cart-group">Prices for customer group: <span class="customer-group">${customerGroupCode}</span></p>
<table id="shopping-cart-table" class="cart items data table">
  <thead><tr><th>Item</th><th>SKU</th><th class="price">Price</th><th class="qty">Qty</th><th class="subtotal">Subtotal</th></tr></thead>
  <tbody>${cart.lines.map(
    (line) => html`<tr class="item-info" data-sku="${line.sku}">
      <td class="item"><a href="/catalog/product/view/id/${line.productId}">${line.name}</a></td>
      <td class="sku">${line.sku}</td>
      <td class="price"><span class="cart-price">${formatPrice(line.unitPrice)}</span>${line.unitPrice < line.regularPrice ? html` <s class="old-price">${formatPrice(line.regularPrice)}</s>` : html``}</td>
      <td class="qty">${formatMicros(line.qty)}</td>
      <td class="subtotal"><span class="cart-price">${formatPrice(line.rowTotal)}</span></td>
    </tr>`,
  )}</tbody>
</table>
<div class="cart-summary">
  <p>Items: <span class="items-qty">${formatMicros(cart.itemsQty)}</span></p>
  <p class="grand totals">Order Total <strong class="grand-total">${formatPrice(cart.grandTotal)}</strong></p>
</div>`;
}
