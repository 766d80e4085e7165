import { describe, expect, it } from 'vitest';
import { escapeHtml, html } from './html.ts';

describe('html templates', () => {
  it('escapes every interpolated string, so markup in data stays text', () => {
    const name = '<script>alert("x")</script> & \'friends\'';
    expect(html`<h1>${name}</h1>`.text).toBe('<h1>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;friends&#39;</h1>');
  });

  it('escapes inside attributes too', () => {
    expect(html`<a href="/p?q=${'" onmouseover="x'}">`.text).toBe('<a href="/p?q=&quot; onmouseover=&quot;x">');
  });

  it('passes nested templates and arrays through once, without double escaping', () => {
    const items = ['a&b', 'c'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>`.text).toBe('<ul><li>a&amp;b</li><li>c</li></ul>');
  });

  it('renders nothing for null, undefined and false', () => {
    expect(html`[${null}${undefined}${false}${0}]`.text).toBe('[0]');
    expect(escapeHtml('`')).toBe('&#96;');
  });
});
