/*
 * kco-sync-messages.js: what the checkout page tells the shopper when the shop could not answer at all, or when
 * KCO's widget reports a problem, in each language the shop sells in. Every other message comes from the shop's
 * own error answer ("message").
 * Translate or add a language here; a locale without its own entry falls back to its language, then English.
 *   timeout: no answer within data-timeout-ms;  offline: the request never reached the shop;
 *   failed:  an answer the page could not read, or a bug on the page.
 *   shippingFailed: the widget's shipping_address_update_error (kco-widget-events.js);
 *   cannotComplete: the widget's can_not_complete_order (kco-widget-events.js).
 */
const MESSAGES = Object.freeze({
  en: {
    timeout: "The shop took too long to answer. Please try again.",
    offline: "You seem to be offline. Your cart is as shown; please try again.",
    failed: "Something went wrong on this page. Please reload it.",
    shippingFailed:
      "Delivery could not be updated for that address. Please check the address or choose another delivery option.",
    cannotComplete:
      "The purchase cannot be completed with the payment methods offered. Please try another payment method or contact us.",
  },
  sv: {
    timeout: "Butiken svarade inte i tid. Försök igen.",
    offline: "Du verkar vara offline. Varukorgen är som den visas; försök igen.",
    failed: "Något gick fel på sidan. Ladda om den.",
    shippingFailed:
      "Leveransen kunde inte uppdateras för den adressen. Kontrollera adressen eller välj ett annat leveranssätt.",
    cannotComplete:
      "Köpet kan inte slutföras med de betalsätt som erbjuds. Prova ett annat betalsätt eller kontakta oss.",
  },
  nb: {
    timeout: "Butikken svarte ikke i tide. Prøv igjen.",
    offline: "Du ser ut til å være frakoblet. Handlekurven er som vist; prøv igjen.",
    failed: "Noe gikk galt på siden. Last den inn på nytt.",
    shippingFailed:
      "Leveringen kunne ikke oppdateres for den adressen. Sjekk adressen eller velg en annen leveringsmåte.",
    cannotComplete:
      "Kjøpet kan ikke fullføres med betalingsmåtene som tilbys. Prøv en annen betalingsmåte eller kontakt oss.",
  },
  da: {
    timeout: "Butikken svarede ikke i tide. Prøv igen.",
    offline: "Du ser ud til at være offline. Kurven er som vist; prøv igen.",
    failed: "Noget gik galt på siden. Genindlæs den.",
    shippingFailed:
      "Leveringen kunne ikke opdateres for den adresse. Tjek adressen eller vælg en anden leveringsmåde.",
    cannotComplete:
      "Købet kan ikke gennemføres med de tilbudte betalingsmåder. Prøv en anden betalingsmåde eller kontakt os.",
  },
  fi: {
    timeout: "Kauppa ei vastannut ajoissa. Yritä uudelleen.",
    offline: "Verkkoyhteys näyttää katkenneen. Ostoskori on kuten näytetään; yritä uudelleen.",
    failed: "Sivulla tapahtui virhe. Lataa sivu uudelleen.",
    shippingFailed:
      "Toimitusta ei voitu päivittää tälle osoitteelle. Tarkista osoite tai valitse toinen toimitustapa.",
    cannotComplete:
      "Ostosta ei voi viedä loppuun tarjotuilla maksutavoilla. Kokeile toista maksutapaa tai ota meihin yhteyttä.",
  },
  de: {
    timeout: "Der Shop hat nicht rechtzeitig geantwortet. Bitte versuchen Sie es erneut.",
    offline: "Sie scheinen offline zu sein. Ihr Warenkorb ist wie angezeigt; bitte versuchen Sie es erneut.",
    failed: "Auf dieser Seite ist ein Fehler aufgetreten. Bitte laden Sie sie neu.",
    shippingFailed:
      "Die Lieferung konnte für diese Adresse nicht aktualisiert werden. Bitte prüfen Sie die Adresse oder wählen Sie eine andere Versandart.",
    cannotComplete:
      "Der Kauf kann mit den angebotenen Zahlungsarten nicht abgeschlossen werden. Bitte wählen Sie eine andere Zahlungsart oder kontaktieren Sie uns.",
  },
  nl: {
    timeout: "De winkel antwoordde niet op tijd. Probeer het opnieuw.",
    offline: "U lijkt offline te zijn. Uw winkelwagen is zoals getoond; probeer het opnieuw.",
    failed: "Er ging iets mis op deze pagina. Laad de pagina opnieuw.",
    shippingFailed:
      "De levering kon voor dit adres niet worden bijgewerkt. Controleer het adres of kies een andere verzendmethode.",
    cannotComplete:
      "De aankoop kan niet worden voltooid met de aangeboden betaalmethoden. Probeer een andere betaalmethode of neem contact met ons op.",
  },
  fr: {
    timeout: "La boutique n'a pas répondu à temps. Veuillez réessayer.",
    offline: "Vous semblez être hors ligne. Votre panier est tel qu'affiché ; veuillez réessayer.",
    failed: "Une erreur s'est produite sur cette page. Veuillez la recharger.",
    shippingFailed:
      "La livraison n'a pas pu être mise à jour pour cette adresse. Veuillez vérifier l'adresse ou choisir un autre mode de livraison.",
    cannotComplete:
      "L'achat ne peut pas être finalisé avec les moyens de paiement proposés. Veuillez essayer un autre moyen de paiement ou nous contacter.",
  },
  it: {
    timeout: "Il negozio non ha risposto in tempo. Riprova.",
    offline: "Sembra che tu sia offline. Il carrello è quello mostrato; riprova.",
    failed: "Si è verificato un errore in questa pagina. Ricaricala.",
    shippingFailed:
      "Non è stato possibile aggiornare la spedizione per questo indirizzo. Controlla l'indirizzo o scegli un'altra modalità di spedizione.",
    cannotComplete:
      "L'acquisto non può essere completato con i metodi di pagamento offerti. Prova un altro metodo di pagamento o contattaci.",
  },
  es: {
    timeout: "La tienda no respondió a tiempo. Inténtalo de nuevo.",
    offline: "Parece que no tienes conexión. Tu carrito es el que se muestra; inténtalo de nuevo.",
    failed: "Algo salió mal en esta página. Vuelve a cargarla.",
    shippingFailed:
      "No se pudo actualizar el envío para esa dirección. Comprueba la dirección o elige otro método de envío.",
    cannotComplete:
      "La compra no se puede completar con los métodos de pago ofrecidos. Prueba otro método de pago o contáctanos.",
  },
  pl: {
    timeout: "Sklep nie odpowiedział na czas. Spróbuj ponownie.",
    offline: "Wygląda na to, że nie masz połączenia. Koszyk jest taki, jak pokazano; spróbuj ponownie.",
    failed: "Na tej stronie wystąpił błąd. Odśwież ją.",
    shippingFailed:
      "Nie udało się zaktualizować dostawy dla tego adresu. Sprawdź adres lub wybierz inny sposób dostawy.",
    cannotComplete:
      "Nie można dokończyć zakupu przy użyciu oferowanych metod płatności. Wybierz inną metodę płatności lub skontaktuj się z nami.",
  },
});

/** The messages for a locale such as "sv-SE": its own entry, else its language's, else English. */
export function messagesFor(locale) {
  return MESSAGES[locale] ?? MESSAGES[String(locale).split("-")[0]] ?? MESSAGES.en;
}
